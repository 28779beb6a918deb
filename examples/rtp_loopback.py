#!/usr/bin/env python3
# gst-chatterbox: Chatterbox text-to-speech for GStreamer.
# SPDX-License-Identifier: MIT
"""Speech over RTP: a sender pipeline speaks the text, encodes it as Opus and sends it as RTP
over UDP; a receiver pipeline takes it from the UDP port, through a jitter buffer, and decodes
it. Both run here on 127.0.0.1; the receiver's port is picked by the system.

    sender:   chatterboxtts text=... ! audioconvert ! audioresample ! opusenc ! rtpopuspay
                  ! udpsink host=127.0.0.1 port=P
    receiver: udpsrc address=127.0.0.1 port=P caps=application/x-rtp,...,encoding-name=OPUS
                  ! rtpjitterbuffer ! rtpopusdepay ! opusdec ! audioconvert ! fakesink

Prints a JSON summary with the duration sent and the duration received, and fails when they
differ by more than --tolerance seconds."""

from common import (Gst, Runner, argument_parser, configure_tts, dump_graph, finish, init)

DEFAULT_TEXT = "This speech travels as Opus over RTP. The receiver decodes it again."
RTP_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=96"
# After the sender's end, the receiver stops once nothing has arrived for this long (ns).
IDLE_TIMEOUT = 500 * Gst.MSECOND


def parse_args():
    parser = argument_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--text", default=DEFAULT_TEXT, help="what to say")
    parser.add_argument("--tolerance", type=float, default=0.1,
                        help="largest accepted difference of the durations, s (default 0.1)")
    return parser.parse_args()


class SampleCounter:
    """Counts the audio samples (frames) passing a pad and their rate."""

    def __init__(self, pad):
        self.frames = 0
        self.rate = 0
        self.bpf = 0
        pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM, self._probe)

    def _probe(self, _pad, info):
        if info.type & Gst.PadProbeType.BUFFER:
            self.frames += info.get_buffer().get_size() // self.bpf
        elif info.get_event().type == Gst.EventType.CAPS:
            audio_info = Gst.Caps.get_structure(info.get_event().parse_caps(), 0)
            self.rate = audio_info.get_int("rate")[1]
            width = {"F32LE": 4, "S16LE": 2}[audio_info.get_string("format")]
            self.bpf = width * audio_info.get_int("channels")[1]
        return Gst.PadProbeReturn.OK

    def seconds(self):
        return self.frames / self.rate if self.rate else 0.0


def main():
    args = parse_args()
    init(["opusenc", "opusdec", "rtpopuspay", "rtpopusdepay", "rtpjitterbuffer", "udpsrc",
          "udpsink", "audioresample"])
    receiver = Gst.parse_launch(
        f"udpsrc name=udp address=127.0.0.1 port=0 timeout={IDLE_TIMEOUT} caps=\"{RTP_CAPS}\" "
        "! rtpjitterbuffer latency=200 ! rtpopusdepay ! opusdec "
        "! audioconvert name=out ! audio/x-raw,format=S16LE ! fakesink sync=false")
    receiver.set_name("receiver")
    # Bind first (port 0: any free port), then tell the sender where to send.
    receiver.set_state(Gst.State.PAUSED)
    port = receiver.get_by_name("udp").get_property("port")
    sender = Gst.parse_launch(
        "chatterboxtts name=tts ! audioconvert ! audioresample "
        "! audio/x-raw,format=S16LE ! opusenc name=enc ! rtpopuspay pt=96 "
        f"! udpsink host=127.0.0.1 port={port}")
    sender.set_name("sender")
    tts = sender.get_by_name("tts")
    configure_tts(tts, args)
    tts.set_property("text", args.text)

    sent = SampleCounter(sender.get_by_name("enc").get_static_pad("sink"))
    received = SampleCounter(receiver.get_by_name("out").get_static_pad("sink"))
    runner = Runner(args.timeout)
    state = {"sender_done": False}

    def on_sender_message(message):
        if message.type == Gst.MessageType.EOS:
            state["sender_done"] = True
            dump_graph(sender, "rtp-sender")

    def on_receiver_message(message):
        structure = message.get_structure()
        if (message.type == Gst.MessageType.ELEMENT and structure.get_name() == "GstUDPSrcTimeout"
                and state["sender_done"]):
            dump_graph(receiver, "rtp-receiver")
            runner.quit()

    runner.watch(sender, on_sender_message)
    runner.watch(receiver, on_receiver_message)
    runner.run(receiver, sender)  # the receiver listens before the sender sends

    summary = {"port": port, "sent_seconds": round(sent.seconds(), 3),
               "received_seconds": round(received.seconds(), 3),
               "received_rate": received.rate}
    difference = abs(sent.seconds() - received.seconds())
    finish(summary, [
        (sent.frames > 0, "the sender spoke"),
        (received.frames > 0, "the receiver decoded audio"),
        (difference <= args.tolerance,
         f"received duration differs from the sent one by {difference:.3f} s "
         f"(more than {args.tolerance} s)"),
    ])


if __name__ == "__main__":
    main()
