"""Sphinx directives that put wsapeer's own answers into the pages, so that no
layout, size or chart is typed a second time by hand.

``.. wsapeer-command:: inspect host/peer.example.com --peer 192.0.2.1:5150``
    runs the ``wsapeer`` command line (in process, this build) and shows what
    it printed: the structure layouts come from the C marshaller.
``.. wsapeer-rules::``
    strict mode's rules, from ``wsapeer.testing.RULES`` itself.
``.. wsapeer-sizes::``
    a table of the Windows structures' sizes as the known-answer generator
    (tests/windows/kat_vectors.c, compiled against the real headers) measured
    them.
"""

import contextlib
import io
import json
import shlex
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]


class CommandOutput(SphinxDirective):
    has_content = False
    required_arguments = 1
    final_argument_whitespace = True

    def run(self):
        from wsapeer.__main__ import main

        argv = shlex.split(self.arguments[0])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = main(argv)
        if status:
            raise self.error(f"wsapeer {self.arguments[0]} exited with {status}")
        text = f"$ wsapeer {self.arguments[0]}\n{out.getvalue().rstrip()}"
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


class StructureSizes(SphinxDirective):
    has_content = False

    def run(self):
        source = ROOT / "tests" / "data" / "security_vectors.json"
        peer = ROOT / "tests" / "data" / "peer_target_name_vectors.json"
        self.env.note_dependency(str(source))
        self.env.note_dependency(str(peer))
        ptn = json.loads(peer.read_text())["sizeof_SOCKET_PEER_TARGET_NAME"]
        sizes = {"SOCKET_PEER_TARGET_NAME": ptn}
        sizes.update(json.loads(source.read_text())["sizeof"])
        rows = [f"   * - ``{name}``\n     - {size}" for name, size in sizes.items()]
        table = [
            ".. list-table::",
            "   :header-rows: 1",
            "",
            "   * - structure",
            "     - ``sizeof`` in bytes (x64, mingw-w64 headers)",
            *"\n".join(rows).splitlines(),
        ]
        container = nodes.container()
        self.state.nested_parse(StringList(table), self.content_offset, container)
        return container.children


class StrictRules(SphinxDirective):
    has_content = False

    def run(self):
        from wsapeer.testing import RULES

        lines = []
        for rule, text in RULES.items():
            lines += [f"``{rule}``", f"   {text[0].upper()}{text[1:]}.", ""]
        container = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("wsapeer-rules", StrictRules)
    app.add_directive("wsapeer-command", CommandOutput)
    app.add_directive("wsapeer-sizes", StructureSizes)
    return {"parallel_read_safe": True, "version": "1"}
