# gst-chatterbox: Chatterbox text-to-speech for GStreamer.
# SPDX-License-Identifier: MIT
"""What the examples share: GStreamer start-up, the chatterboxtts options, running pipelines
under a deadline, graph dumps for the docs and the checks that make an example a test."""

import argparse
import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

# `meson test` counts this exit status as a skipped test (an optional plugin is missing).
EXIT_SKIP = 77
UTTERANCE_MESSAGE = "chatterboxtts/synthesized-audio"


def init(elements):
    """Initialises GStreamer; exits (skipped) when an optional element is missing. The plugin
    itself missing is an error: it is what the example is about."""
    Gst.init(None)
    if Gst.ElementFactory.find("chatterboxtts") is None:
        sys.exit("chatterboxtts not found: point GST_PLUGIN_PATH at the build's gst/ directory "
                 "(or run inside `meson devenv`)")
    missing = [name for name in elements if Gst.ElementFactory.find(name) is None]
    if missing:
        print("skipped, missing GStreamer elements: " + ", ".join(missing), file=sys.stderr)
        sys.exit(EXIT_SKIP)


def argument_parser(description):
    """The options every example takes: how chatterboxtts is set up, and a time bound."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model-path", help="model directory (default: the element's search)")
    parser.add_argument("--voice", help="reference audio or conditioning file for the voice")
    parser.add_argument("--device", help="cpu, cuda, cuda:N (default: auto)")
    parser.add_argument("--max-tokens", type=int,
                        help="speech tokens per utterance at most (25 per second of audio)")
    parser.add_argument("--seed", type=int, help="sampling seed (default: random)")
    parser.add_argument("--latency", type=int,
                        help="ms the element adds to a live pipeline's latency (default 1000)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="give up (and fail) after this many seconds")
    return parser


def configure_tts(tts, args):
    """Sets the chatterboxtts properties given on the command line."""
    for prop in ("model_path", "voice", "device", "max_tokens", "seed", "latency"):
        value = getattr(args, prop)
        if value is not None:
            tts.set_property(prop.replace("_", "-"), value)


def dump_graph(pipeline, name):
    """Writes the pipeline's graph to $GST_DEBUG_DUMP_DOT_DIR/name.dot (nothing when unset);
    scripts/render-pipeline-graphs.sh turns it into the docs' picture."""
    details = Gst.DebugGraphDetails.MEDIA_TYPE | Gst.DebugGraphDetails.NON_DEFAULT_PARAMS
    Gst.debug_bin_to_dot_file(pipeline, details, name)


def running_time(pipeline):
    """The pipeline's running time now (ns), or None before it has a clock."""
    clock = pipeline.get_clock()
    if clock is None:
        return None
    return clock.get_time() - pipeline.get_base_time()


def utterance_fields(structure):
    """The fields of a chatterboxtts/synthesized-audio message as a dict (whatever fields this
    version of the element sends)."""
    fields = {}
    for i in range(structure.n_fields()):
        name = structure.nth_field_name(i)
        fields[name] = structure.get_value(name)
    return fields


class Runner:
    """A GLib main loop over one or more pipelines: quits on the first error, or when the
    deadline passes (then it is an error too), or when the example calls quit()."""

    def __init__(self, timeout):
        self.loop = GLib.MainLoop()
        self.error = None
        self._timer = GLib.timeout_add(int(timeout * 1000), self._on_timeout, timeout)

    def _on_timeout(self, timeout):
        self._timer = None
        self.fail(f"timed out after {timeout:g} s")
        return GLib.SOURCE_REMOVE

    def watch(self, pipeline, on_message=None):
        """Watches the pipeline's bus: errors fail the run, every message goes to on_message."""
        bus = pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_message, on_message)

    def _on_message(self, _bus, message, on_message):
        if message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            self.fail(f"{message.src.get_name()}: {err.message} ({debug})")
            return
        if message.type == Gst.MessageType.WARNING:
            warning, _ = message.parse_warning()
            print(f"warning from {message.src.get_name()}: {warning.message}", file=sys.stderr)
        if on_message:
            on_message(message)

    def fail(self, error):
        if self.error is None:
            self.error = error
        self.loop.quit()

    def quit(self):
        self.loop.quit()

    def run(self, *pipelines, exit_on_error=True):
        """Plays the pipelines, runs until quit, then stops them. On failure it exits, or with
        exit_on_error=False leaves the reason in `error` (to report what was measured)."""
        for pipeline in pipelines:
            if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
                self.fail(f"{pipeline.get_name()} could not start (see the error above)")
        if self.error is None:
            self.loop.run()
        if self._timer is not None:
            GLib.source_remove(self._timer)
        for pipeline in pipelines:
            pipeline.set_state(Gst.State.NULL)
        if self.error is not None and exit_on_error:
            sys.exit(f"error: {self.error}")


def finish(summary, checks):
    """Prints the JSON summary, then the failed checks (a list of (ok, what) pairs); the exit
    status says whether all held."""
    print(json.dumps(summary, indent=2))
    failed = [what for ok, what in checks if not ok]
    for what in failed:
        print(f"check failed: {what}", file=sys.stderr)
    sys.exit(1 if failed else 0)
