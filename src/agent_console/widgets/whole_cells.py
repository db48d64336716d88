"""Wide characters kept whole where widgets overlap (a toast, a dropdown, the footer's palette key).

Cause, in Textual 8.2.8 (`_compositor.Compositor._render_chops`): each screen line is cut into
"chops" at every edge of every widget on that line, and each widget's line is divided at all of
those cuts, including the edges of widgets lying *under* it. A double-width character that
straddles such an edge is split by `Strip.divide`, which can only fill each half with a space:
the character vanishes (`受理内容已    草稿`, `^p 命令  板`) though one widget paints both halves.

`WholeCellCompositor` divides a widget's line as Textual does, except that where a cut falls in
the middle of a wide character and the chops on both sides of it are still this widget's to
paint, the two chops are joined: the left one carries the whole character and the right one is
left empty (a cut between two widgets still splits, as it must). `install()` makes every screen
use it; it is tied to Textual 8.2.8, whose private method it replaces (checked in the tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

from rich.cells import get_character_cell_size
from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip

TEXTUAL_VERSION = "8.2.8"
EMPTY = Strip([], 0)


def wide_middles(strip: Strip) -> set[int]:
    """Cell positions that are the right half of a double-width character in `strip`."""
    text = strip.text
    if text.isascii():
        return set()
    middles, position = set(), 0
    for segment in strip:
        if segment.control:
            continue
        for char in segment.text:
            size = get_character_cell_size(char)
            if size == 2:
                middles.add(position + 1)
            position += size
    return middles


class WholeCellCompositor(Compositor):
    def _render_chops(self, crop: Region,
                      is_rendered_line: Callable[[int], bool]) -> Sequence[Mapping[int, Strip]]:
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
        for region, clip, strips in self._get_renders(crop):
            render_region = Region.intersection(region, clip)
            render_x = render_region.x
            first_cut, last_cut = render_region.column_span
            for y, strip in zip(render_region.line_range, strips):
                if not is_rendered_line(y):
                    continue
                chops_line = chops[y]
                final_cuts = [cut for cut in cuts[y] if last_cut >= cut >= first_cut]
                joined: set[int] = set()
                if len(final_cuts) > 2 and (middles := wide_middles(strip)):
                    for left, cut in zip(final_cuts, final_cuts[1:-1]):
                        if cut - render_x in middles and chops_line.get(left, 0) is None \
                                and chops_line.get(cut, 0) is None:
                            joined.add(cut)
                kept = [cut for cut in final_cuts if cut not in joined]
                pieces = strip.divide([cut - render_x for cut in kept[1:]])
                for cut, piece in zip(kept, pieces):
                    if chops_line.get(cut) is None:
                        chops_line[cut] = piece
                for cut in joined:
                    chops_line[cut] = EMPTY
        return cast("Sequence[Mapping[int, Strip]]", chops)


def install() -> bool:
    """Every screen made from now on composes with `WholeCellCompositor` (Textual 8.2.8 only)."""
    import textual
    import textual.screen

    if getattr(textual, "__version__", "") != TEXTUAL_VERSION:
        return False
    textual.screen.Compositor = WholeCellCompositor  # type: ignore[misc]
    return True


__all__ = ["WholeCellCompositor", "install", "wide_middles", "Iterable"]
