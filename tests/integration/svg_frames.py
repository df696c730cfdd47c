#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""svg_frames.py SVG: parse a smolder flame graph with a real XML parser (so a file
that is not well-formed fails here) and print one tab-separated line per frame of
#frames:

    name hidden x width before_x before_width r g b title

(hidden: 1 when the <g> has class "hide"; before_*: data-bx/data-bw, else x/width).
With --text it prints the title, each subtitle line and the legend's text instead.
"""
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def main():
    args = sys.argv[1:]
    text_mode = args and args[0] == "--text"
    if text_mode:
        args = args[1:]
    root = ET.parse(args[0]).getroot()
    if text_mode:
        for el in root.iter(NS + "text"):
            if el.get("id") in ("title", "subtitle") or (
                el.get("text-anchor") == "middle" and el.get("id") is None
            ):
                print(el.text or "")
        for g in root.iter(NS + "g"):
            if g.get("id") == "legend":
                print(" ".join(t.text or "" for t in g.iter(NS + "text")))
        return
    frames = next(g for g in root.iter(NS + "g") if g.get("id") == "frames")
    for g in frames.findall(NS + "g"):
        title = g.find(NS + "title").text
        rect = g.find(NS + "rect")
        name = title[: title.rfind(" (")]
        r, gr, b = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", rect.get("fill")).groups()
        x, w = rect.get("x"), rect.get("width")
        print("\t".join([
            name.replace("\t", " "),
            "1" if g.get("class") == "hide" else "0",
            x, w, rect.get("data-bx", x), rect.get("data-bw", w),
            r, gr, b, title.replace("\t", " "),
        ]))


if __name__ == "__main__":
    main()
