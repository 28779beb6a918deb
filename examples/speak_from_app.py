#!/usr/bin/env python3
# gst-chatterbox: Chatterbox text-to-speech for GStreamer.
# SPDX-License-Identifier: MIT
"""Speaks text that an application streams in, the way a chatbot gets it from an LLM: words
arrive a few at a time, sentences with pauses between them. The text goes into a live `appsrc`
without timestamps; chatterboxtts speaks each sentence as soon as it is complete.

    appsrc (live, untimed text) ! queue ! chatterboxtts ! queue ! audioconvert ! audioresample
        ! autoaudiosink                      (default: play it)
        ! wavenc ! filesink                  (--record out.wav; --sync paces it like a player)
        ! fakesink                           (--discard)

For every sentence it measures the time from pushing its last word to its first audio: when
that buffer reached the sink side, and when it plays (its running time plus the pipeline
latency). Prints a JSON summary with those times and the audio dropped as late."""

import sys
import threading
import time

from common import (UTTERANCE_MESSAGE, Gst, GLib, Runner, argument_parser, configure_tts,
                    dump_graph, finish, init, running_time, utterance_fields)

DEFAULT_SENTENCES = [
    "Hello! I am a speech synthesizer inside a GStreamer pipeline.",
    "An application streams text into me, a few words at a time.",
    "Each sentence is spoken as soon as it is complete.",
    "That is all for now. Goodbye!",
]


def parse_args():
    parser = argument_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", help="text file, one sentence per line (default: built in)")
    parser.add_argument("--record", metavar="WAV", help="write the speech to this WAV file")
    parser.add_argument("--discard", action="store_true", help="fakesink instead of playing")
    parser.add_argument("--sync", action="store_true",
                        help="with --record or --discard: sync the sink to the clock, as a player")
    parser.add_argument("--word-delay", type=float, default=0.05,
                        help="seconds between pushed words (default 0.05)")
    parser.add_argument("--pause", type=float, default=1.0,
                        help="seconds between sentences (default 1.0)")
    parser.add_argument("--do-timestamp", action="store_true",
                        help="let appsrc stamp the text with its arrival time (timed text)")
    return parser.parse_args()


def build_pipeline(args):
    if args.record:
        sink = "audio/x-raw,format=S16LE ! wavenc ! filesink name=sink"
    elif args.discard:
        sink = "fakesink name=sink"
    else:
        sink = "autoaudiosink name=sink"
    pipeline = Gst.parse_launch(
        "appsrc name=text is-live=true format=time caps=text/x-raw,format=utf8 ! queue "
        "! chatterboxtts name=tts "
        "! queue max-size-time=10000000000 max-size-buffers=0 max-size-bytes=0 "
        "! audioconvert name=out ! audioresample ! " + sink)
    pipeline.set_name("speak-from-app")
    configure_tts(pipeline.get_by_name("tts"), args)
    pipeline.get_by_name("text").set_property("do-timestamp", args.do_timestamp)
    if args.record:
        pipeline.get_by_name("sink").set_property("location", args.record)
    if args.record or args.discard:
        pipeline.get_by_name("sink").set_property("sync", args.sync)
    return pipeline


class AudioTap:
    """Notes every audio buffer entering the output side (after the queue): its timestamp,
    running time, when it arrived and its sample count."""

    def __init__(self, pipeline, pad):
        self.pipeline = pipeline
        self.segment = None
        self.bpf = 0
        self.buffers = []  # (running time of its PTS, arrival running time, frames, latency)
        self.latency = 0  # the pipeline latency now (ns): when a buffer at running time t plays
        pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM, self._probe)
        self.first_buffer = threading.Event()

    def _probe(self, pad, info):
        if info.type & Gst.PadProbeType.EVENT_DOWNSTREAM:
            event = info.get_event()
            if event.type == Gst.EventType.SEGMENT:
                self.segment = event.parse_segment()
            elif event.type == Gst.EventType.CAPS:
                structure = event.parse_caps().get_structure(0)
                bytes_per_sample = 4 if structure.get_string("format") == "F32LE" else 2
                self.bpf = bytes_per_sample * structure.get_int("channels")[1]
            return Gst.PadProbeReturn.OK
        buf = info.get_buffer()
        pts_rt = self.segment.to_running_time(Gst.Format.TIME, buf.pts)
        self.buffers.append((pts_rt, running_time(self.pipeline), buf.get_size() // self.bpf,
                             self.latency))
        self.first_buffer.set()
        return Gst.PadProbeReturn.OK


class TextFeeder(threading.Thread):
    """Pushes the sentences word by word, as an LLM streams its answer, and notes the running
    time each sentence became complete. With timed text (do-timestamp) a buffer is one
    utterance, so then each sentence goes in one buffer once its words have come."""

    def __init__(self, pipeline, appsrc, sentences, word_delay, pause, stop, whole_sentences):
        super().__init__(daemon=True)
        self.pipeline, self.appsrc, self.sentences = pipeline, appsrc, sentences
        self.word_delay, self.pause, self.stop = word_delay, pause, stop
        self.whole_sentences = whole_sentences
        self.completed_at = []  # running time (ns) of each sentence's last word

    def run(self):
        for sentence in self.sentences:
            words = sentence.split(" ")
            for i, word in enumerate(words):
                if self.stop.wait(self.word_delay):
                    return
                last = i + 1 == len(words)
                if self.whole_sentences and not last:
                    continue
                piece = (sentence if self.whole_sentences else word) + ("\n" if last else " ")
                self.appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(piece.encode()))
            self.completed_at.append(running_time(self.pipeline))
            if self.stop.wait(self.pause):
                return
        self.appsrc.emit("end-of-stream")


def main():
    args = parse_args()
    init(["appsrc", "audioconvert", "audioresample", "wavenc", "autoaudiosink"])
    sentences = DEFAULT_SENTENCES
    if args.sentences:
        with open(args.sentences, encoding="utf-8") as f:
            sentences = [line.strip() for line in f if line.strip()]

    pipeline = build_pipeline(args)
    tap = AudioTap(pipeline, pipeline.get_by_name("out").get_static_pad("sink"))
    utterances, qos_dropped = [], [0]
    runner = Runner(args.timeout)

    def on_message(message):
        structure = message.get_structure()
        if message.type == Gst.MessageType.EOS:
            runner.quit()
        elif message.type == Gst.MessageType.ELEMENT and structure.get_name() == UTTERANCE_MESSAGE:
            utterances.append(utterance_fields(structure))
        elif message.type == Gst.MessageType.QOS and message.src.get_name() == "tts":
            qos_dropped[0] = message.parse_qos_stats()[2]  # cumulative dropped samples
        elif message.type == Gst.MessageType.ASYNC_DONE:  # the sinks prerolled: latency set
            tap.latency = pipeline_latency(pipeline)
        elif message.type == Gst.MessageType.LATENCY:
            pipeline.recalculate_latency()
            tap.latency = pipeline_latency(pipeline)

    runner.watch(pipeline, on_message)
    stop = threading.Event()
    feeder = TextFeeder(pipeline, pipeline.get_by_name("text"), sentences, args.word_delay,
                        args.pause, stop, whole_sentences=args.do_timestamp)
    # Live: the pipeline is PLAYING with its clock running at once; the sinks complete their
    # state change when audio arrives.
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        sys.exit("error: the pipeline did not start (see the error above)")
    while running_time(pipeline) is None:
        time.sleep(0.01)
    tap.latency = pipeline_latency(pipeline)
    feeder.start()
    # The graph for the docs, once caps are negotiated all the way.
    threading.Thread(target=lambda: tap.first_buffer.wait(args.timeout) and
                     GLib.idle_add(dump_graph, pipeline, "app"), daemon=True).start()
    started = time.monotonic()
    try:
        runner.run(pipeline, exit_on_error=False)
    finally:
        stop.set()
    summary, checks = summarize(args, sentences, feeder.completed_at, utterances, tap,
                                qos_dropped[0])
    summary["wall_seconds"] = round(time.monotonic() - started, 3)
    finish(summary, [(runner.error is None, f"ran to the end: {runner.error}")] + checks)


def pipeline_latency(pipeline):
    """The latency the live pipeline runs with (ns): what a LATENCY query answers now."""
    query = Gst.Query.new_latency()
    if not pipeline.query(query):
        return 0
    live, min_latency, _ = query.parse_latency()
    return min_latency if live else 0


def group_by_sentence(sentences, utterances):
    """The element may split a sentence into several utterances (at "!" for one): gives each
    sentence the utterance messages whose text it contains, in order."""
    groups = [[] for _ in sentences]
    current = 0
    for utt in utterances:
        text = " ".join(utt["content"].split())
        for i in range(current, len(sentences)):
            if text in " ".join(sentences[i].split()):
                current = i
                break
        groups[current].append(utt)
    return groups


def summarize(args, sentences, completed_at, utterances, tap, qos_dropped):
    """Matches each sentence to its utterance messages and its first audio at the sink."""
    ms = 1e-6
    rows = []
    groups = group_by_sentence(sentences, utterances)
    starts = [g[0]["pts"] if g else None for g in groups]
    for i, (sentence, group) in enumerate(zip(sentences, groups)):
        row = {"text": sentence, "utterances": len(group)}
        rows.append(row)
        if not group:
            continue
        # Its buffers: from its first sample's time up to the next sentence's (stream time
        # equals running time here: one segment from 0).
        end = next((t for t in starts[i + 1:] if t is not None), Gst.CLOCK_TIME_NONE)
        mine = [b for b in tap.buffers if starts[i] <= b[0] < end]
        first_latency = group[0]["first-chunk-latency"]
        row.update({
            "pts_ms": round(starts[i] * ms, 1),
            "samples": sum(u["samples"] for u in group),
            "rtf": round(max(u["rtf"] for u in group), 2),  # compute time / audio time
            "element_first_audio_ms":
                None if first_latency == Gst.CLOCK_TIME_NONE else round(first_latency * ms, 1)})
        for field in ("produced", "dropped"):  # from elements that report them
            if field + "-samples" in group[0]:
                row[field] = sum(u[field + "-samples"] for u in group)
        if mine and i < len(completed_at):
            first_pts_rt, arrived_rt = mine[0][0], mine[0][1]
            # The first buffer prerolls the sinks before the pipeline sets its latency: it
            # plays with the first latency known at or after its arrival.
            after = tap.buffers[tap.buffers.index(mine[0]):]
            latency = next((b[3] for b in after if b[3] > 0), mine[0][3])
            row["push_to_sink_ms"] = round((arrived_rt - completed_at[i]) * ms, 1)
            row["push_to_play_ms"] = round((first_pts_rt + latency - completed_at[i]) * ms, 1)
    if utterances and "dropped-samples" in utterances[0]:
        dropped = sum(u["dropped-samples"] for u in utterances)
    else:
        dropped = qos_dropped
    frames_at_sink = sum(b[2] for b in tap.buffers)
    frames_pushed = sum(r.get("samples", 0) for r in rows)
    summary = {
        "sink": "wav" if args.record else ("fakesink" if args.discard else "autoaudiosink"),
        "sync": bool(args.sync or not (args.record or args.discard)),
        "timestamps": "do-timestamp" if args.do_timestamp else "untimed",
        "pipeline_latency_ms": sorted({round(b[3] * ms, 1) for b in tap.buffers}),
        "sentences": len(sentences),
        "utterances": len(utterances),
        "samples_at_sink": frames_at_sink,
        "dropped_samples": dropped,
        "per_sentence": rows,
    }
    checks = [
        (all(r["utterances"] > 0 for r in rows), "every sentence was spoken (utterance message)"),
        (all("push_to_sink_ms" in r or r.get("dropped") == r.get("produced", -1) for r in rows),
         "every sentence's audio reached the sink, or was reported dropped"),
        (frames_at_sink == frames_pushed,
         f"the sink got {frames_at_sink} samples, the element reported {frames_pushed} pushed"),
    ]
    if utterances and "produced-samples" in utterances[0]:
        # Nothing is clipped here (overflow is not clip), so all that was made was pushed or
        # dropped.
        checks.append((all(u["produced-samples"] == u["pushed-samples"] + u["dropped-samples"]
                           for u in utterances),
                       "produced = pushed + dropped samples in every utterance message"))
    return summary, checks


if __name__ == "__main__":
    main()
