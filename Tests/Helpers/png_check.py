#!/usr/bin/env python3
"""Looks at a screenshot for a blank page, with Pillow.

Usage: png_check.py IMAGE.png
Prints "width height inked colours red": the share of pixels that are not near-white (ink), how
many distinct colours there are, and the share of strongly red pixels (the report's tip line and
alarm marks). Exits 1 when the page is blank: under 2 % ink or under 16 colours.
"""
import sys

from PIL import Image


def main():
    image = Image.open(sys.argv[1]).convert("RGB")
    width, height = image.size
    counts = image.getcolors(maxcolors=width * height)
    total = width * height
    inked = sum(n for n, (r, g, b) in counts if min(r, g, b) < 235) / total
    red = sum(n for n, (r, g, b) in counts if r > 150 and g < 90 and b < 90) / total
    colours = len(counts)
    print(f"{width} {height} {inked:.4f} {colours} {red:.5f}")
    return 0 if inked >= 0.02 and colours >= 16 else 1


if __name__ == "__main__":
    sys.exit(main())
