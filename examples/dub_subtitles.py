#!/usr/bin/env python3
# gst-chatterbox: Chatterbox text-to-speech for GStreamer.
# SPDX-License-Identifier: MIT
"""Dubbing from subtitles: each line of an SRT file is spoken at its time, cut at its end
(overflow=clip), and mixed over the original sound track into a WAV file.

    filesrc location=subs.srt ! subparse ! chatterboxtts overflow=clip ! audioconvert
        ! audioresample ! audiomixer name=mix ! audioconvert ! wavenc ! filesink
    audiotestsrc (or filesrc location=original ! decodebin) ! audioconvert ! audioresample ! mix.

Without --original the original track is a quiet 220 Hz tone. Then the output is checked: it
lasts as long as the original, and it is louder than the tone inside the subtitles' times and
only the tone outside them. Prints a JSON summary."""

import array
import re
import sys
import wave

from common import (UTTERANCE_MESSAGE, Gst, Runner, argument_parser, configure_tts, dump_graph,
                    finish, init)

RATE = 48000
TONE_VOLUME = 0.01
WINDOW = 0.1  # seconds per loudness window


def parse_args():
    parser = argument_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--subtitles", required=True, help="SRT file")
    parser.add_argument("--original", help="the original sound track (default: a quiet tone)")
    parser.add_argument("--duration", type=float, default=7.0,
                        help="seconds of tone when there is no --original (default 7)")
    parser.add_argument("--out", required=True, help="WAV file to write")
    return parser.parse_args()


def read_srt(path):
    """(start, end) in seconds of every subtitle in the file."""
    stamp = r"(\d+):(\d+):(\d+)[,.](\d+)"
    times = []
    with open(path, encoding="utf-8-sig") as f:
        for match in re.finditer(stamp + r"\s*-->\s*" + stamp, f.read()):
            h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
            times.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000,
                          h2 * 3600 + m2 * 60 + s2 + ms2 / 1000))
    return times


def build_pipeline(args):
    if args.original:
        original = "filesrc name=original ! decodebin"
    else:
        buffers = int(args.duration / WINDOW)
        original = (f"audiotestsrc name=original wave=sine freq=220 volume={TONE_VOLUME} "
                    f"samplesperbuffer={int(RATE * WINDOW)} num-buffers={buffers}")
    caps = f"audio/x-raw,format=S16LE,rate={RATE},channels=1"
    pipeline = Gst.parse_launch(
        "filesrc name=subs ! subparse ! queue ! chatterboxtts name=tts overflow=clip "
        f"! audioconvert ! audioresample ! {caps} ! mix. "
        f"{original} ! audioconvert ! audioresample ! {caps} ! mix. "
        f"audiomixer name=mix ! {caps} ! wavenc ! filesink name=out")
    pipeline.set_name("dub-subtitles")
    configure_tts(pipeline.get_by_name("tts"), args)
    pipeline.get_by_name("subs").set_property("location", args.subtitles)
    pipeline.get_by_name("out").set_property("location", args.out)
    if args.original:
        pipeline.get_by_name("original").set_property("location", args.original)
    return pipeline


def loudness(path):
    """The WAV's duration (s) and RMS (full scale 1.0) of each WINDOW of it."""
    with wave.open(path, "rb") as w:
        rate = w.getframerate()
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    step = int(rate * WINDOW)
    rms = []
    for start in range(0, len(samples), step):
        window = samples[start:start + step]
        rms.append((sum(s * s for s in window) / len(window)) ** 0.5 / 32768)
    return len(samples) / rate, rms


def main():
    args = parse_args()
    init(["subparse", "audiomixer", "audiotestsrc", "wavenc", "audioresample"])
    pipeline = build_pipeline(args)
    runner = Runner(args.timeout)
    utterances = []

    def on_message(message):
        structure = message.get_structure()
        if message.type == Gst.MessageType.EOS:
            dump_graph(pipeline, "dubbing")
            runner.quit()
        elif (message.type == Gst.MessageType.ELEMENT and
              structure.get_name() == UTTERANCE_MESSAGE):
            utterances.append(structure.get_string("content"))

    runner.watch(pipeline, on_message)
    runner.run(pipeline)

    subtitles = read_srt(args.subtitles)
    duration, rms = loudness(args.out)

    def windows(start, end):
        return rms[int(round(start / WINDOW)):int(round(end / WINDOW))]

    # Loudest window inside each subtitle; loudest window well clear of every subtitle.
    speech = [max(windows(start, end), default=0.0) for start, end in subtitles]
    outside = []
    edges = [0.0] + [t for pair in subtitles for t in pair] + [duration]
    for gap_start, gap_end in zip(edges[0::2], edges[1::2]):  # end of one to start of next
        outside += windows(gap_start + 2 * WINDOW, gap_end - WINDOW)
    summary = {"out": args.out, "seconds": round(duration, 3), "utterances": utterances,
               "subtitles": [{"start": s, "end": e, "loudest_rms": round(r, 4)}
                             for (s, e), r in zip(subtitles, speech)],
               "loudest_rms_outside_subtitles": round(max(outside, default=0.0), 4)}
    checks = [(len(utterances) == len(subtitles),
               f"{len(subtitles)} subtitles gave {len(utterances)} utterances")]
    if not args.original:
        tone_rms = TONE_VOLUME / 2 ** 0.5
        expected = max(args.duration, subtitles[-1][1] if subtitles else 0.0)
        checks += [
            (abs(duration - expected) < 2 * WINDOW,
             f"the mix lasts {duration:.3f} s, expected {expected:.3f} s"),
            (all(r > 2 * tone_rms for r in speech),
             "speech (louder than twice the tone) in every subtitle's time"),
            (max(outside, default=0.0) < 1.5 * tone_rms,
             "only the tone outside the subtitles' times (speech clipped at their ends)"),
        ]
    finish(summary, checks)


if __name__ == "__main__":
    main()
