#!/usr/bin/env python3
# gst-chatterbox: Chatterbox text-to-speech for GStreamer.
# SPDX-License-Identifier: MIT
"""Speech over WebRTC: two webrtcbin peers in this process, the sender with the speech on an
Opus track, the receiver decoding it. Signalling (offer, answer, ICE candidates) is passed
between them directly; ICE uses 127.0.0.1 only (no STUN or TURN server).

    sender:   appsrc (text) ! queue ! chatterboxtts ! audioconvert ! audioresample ! opusenc
                  ! rtpopuspay ! webrtcbin
    receiver: webrtcbin ! rtpopusdepay ! opusdec ! audioconvert ! level ! fakesink

The sender speaks once the ICE connection is up, as a voice bot answering a call would. Prints
a JSON summary and fails unless the receiver decoded audio that is not silence."""

import sys

import gi

from common import (EXIT_SKIP, UTTERANCE_MESSAGE, Gst, GLib, Runner, argument_parser,
                    configure_tts, dump_graph, finish, init)

try:
    gi.require_version("GstWebRTC", "1.0")
    gi.require_version("GstSdp", "1.0")
except ValueError as e:  # no gir1.2-gst-plugins-bad-1.0
    print(f"skipped: {e}", file=sys.stderr)
    sys.exit(EXIT_SKIP)
from gi.repository import GstWebRTC  # noqa: E402

DEFAULT_TEXT = "Hello from the other peer. This voice reaches you over WebRTC."
OPUS_RTP_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=96"
# Quieter than this (peak, dBFS) counts as silence.
SILENCE_DB = -60.0


def parse_args():
    parser = argument_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--text", default=DEFAULT_TEXT, help="what to say")
    return parser.parse_args()


def make_peer(name, description):
    """A pipeline with a webrtcbin named `peer` that gathers ICE candidates on 127.0.0.1."""
    pipeline = Gst.parse_launch(description)
    if not isinstance(pipeline, Gst.Pipeline):  # a single element
        element, pipeline = pipeline, Gst.Pipeline.new()
        pipeline.add(element)
    pipeline.set_name(name)
    webrtc = pipeline.get_by_name("peer")
    webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    ice = webrtc.get_property("ice-agent")
    ice.set_property("ice-tcp", False)
    ice.emit("add-local-ip-address", "127.0.0.1")  # loopback only
    return pipeline, webrtc, ice


def connect_signalling(sender, receiver, runner):
    """In-process signalling: the sender offers, the receiver answers, and each peer's ICE
    candidates go straight to the other."""

    def on_offer(promise):
        reply = promise.get_reply()  # owns the offer: keep it while the offer is used
        offer = reply.get_value("offer")
        sender.emit("set-local-description", offer, None)
        receiver.emit("set-remote-description", offer, None)
        receiver.emit("create-answer", None, Gst.Promise.new_with_change_func(on_answer))

    def on_answer(promise):
        reply = promise.get_reply()
        if reply is None or not reply.has_field("answer"):
            GLib.idle_add(runner.fail, "the receiver did not answer the offer")
            return
        answer = reply.get_value("answer")
        receiver.emit("set-local-description", answer, None)
        sender.emit("set-remote-description", answer, None)

    sender.connect("on-negotiation-needed", lambda element: element.emit(
        "create-offer", None, Gst.Promise.new_with_change_func(on_offer)))
    sender.connect("on-ice-candidate",
                   lambda _e, mline, cand: receiver.emit("add-ice-candidate", mline, cand))
    receiver.connect("on-ice-candidate",
                     lambda _e, mline, cand: sender.emit("add-ice-candidate", mline, cand))


class Decoded:
    """The receiver's audio: samples decoded and the loudest level seen."""

    def __init__(self):
        self.samples = 0
        self.peak_db = float("-inf")

    def on_buffer(self, _pad, info):
        # S16LE mono (see the capsfilter): two bytes a sample.
        self.samples += info.get_buffer().get_size() // 2
        return Gst.PadProbeReturn.OK

    def on_level(self, structure):
        peak = structure.get_value("peak")
        self.peak_db = max([self.peak_db] + list(peak))


def link_decoder(receiver_pipeline, decoded):
    """When the receiving webrtcbin exposes the incoming stream, decodes and measures it."""

    def on_pad_added(_webrtc, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        decoder = Gst.parse_bin_from_description(
            "rtpopusdepay ! opusdec ! audioconvert ! audioresample "
            "! audio/x-raw,format=S16LE,channels=1,rate=48000 "
            "! level name=level interval=100000000 ! fakesink name=sink sync=false", True)
        receiver_pipeline.add(decoder)
        decoder.sync_state_with_parent()
        pad.link(decoder.get_static_pad("sink"))
        decoder.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER,
                                                                   decoded.on_buffer)

    return on_pad_added


def main():
    args = parse_args()
    init(["webrtcbin", "nicesrc", "nicesink", "opusenc", "opusdec", "rtpopuspay",
          "rtpopusdepay", "level", "audioresample"])
    sender_pipeline, sender, sender_ice = make_peer(
        "webrtc-sender", "appsrc name=text format=time caps=text/x-raw,format=utf8 ! queue "
        "! chatterboxtts name=tts ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=96 "
        f"! {OPUS_RTP_CAPS} ! webrtcbin name=peer")
    configure_tts(sender_pipeline.get_by_name("tts"), args)
    # Negotiate before any audio exists (speech starts only once connected): the track's
    # codec and direction are declared up front rather than learnt from the first caps.
    transceiver = sender.get_static_pad("sink_0").get_property("transceiver")
    transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
    transceiver.set_property("codec-preferences", Gst.Caps.from_string(OPUS_RTP_CAPS))
    receiver_pipeline, receiver, receiver_ice = make_peer("webrtc-receiver", "webrtcbin name=peer")

    runner = Runner(args.timeout)
    decoded = Decoded()
    state = {"speaking": False, "utterances": 0, "connected": None}
    connect_signalling(sender, receiver, runner)
    receiver.connect("pad-added", link_decoder(receiver_pipeline, decoded))

    def speak():
        appsrc = sender_pipeline.get_by_name("text")
        appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(args.text.encode()))
        appsrc.emit("end-of-stream")

    def on_ice_state(webrtc, _pspec):
        ice_state = webrtc.get_property("ice-connection-state")
        if (ice_state in (GstWebRTC.WebRTCICEConnectionState.CONNECTED,
                          GstWebRTC.WebRTCICEConnectionState.COMPLETED)
                and not state["speaking"]):
            state["speaking"] = True
            state["connected"] = ice_state.value_nick
            GLib.idle_add(speak)

    sender.connect("notify::ice-connection-state", on_ice_state)

    def on_sender_message(message):
        structure = message.get_structure()
        if (message.type == Gst.MessageType.ELEMENT and
                structure.get_name() == UTTERANCE_MESSAGE):
            state["utterances"] += 1

    def on_track_end(_pad, info):
        # webrtcbin keeps running after its track ends (no EOS on the bus): stop once the
        # end of the speech has been sent and the receiver had a moment to play it out.
        if info.get_event().type == Gst.EventType.EOS:
            GLib.timeout_add(1000, finish_run)
        return Gst.PadProbeReturn.OK

    sender.get_static_pad("sink_0").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_track_end)

    def on_receiver_message(message):
        structure = message.get_structure()
        if message.type == Gst.MessageType.ELEMENT and structure.get_name() == "level":
            decoded.on_level(structure)

    def finish_run():
        dump_graph(sender_pipeline, "webrtc-sender")
        dump_graph(receiver_pipeline, "webrtc-receiver")
        runner.quit()
        return GLib.SOURCE_REMOVE

    runner.watch(sender_pipeline, on_sender_message)
    runner.watch(receiver_pipeline, on_receiver_message)
    runner.run(receiver_pipeline, sender_pipeline)

    summary = {"ice": state["connected"], "utterances": state["utterances"],
               "decoded_samples": decoded.samples, "decoded_rate": 48000,
               "decoded_seconds": round(decoded.samples / 48000, 3),
               "peak_dbfs": round(decoded.peak_db, 1) if decoded.samples else None}
    finish(summary, [
        (state["connected"] is not None, "ICE connected"),
        (state["utterances"] > 0, "the sender spoke"),
        (decoded.samples > 0, "the receiver decoded audio"),
        (decoded.peak_db > SILENCE_DB, f"the decoded audio is not silence (> {SILENCE_DB} dBFS)"),
    ])


if __name__ == "__main__":
    main()
