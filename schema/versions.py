"""When a page's new text may replace the article readers see: the rules of article versions.

A page that answers 200 with a soft-404, a challenge or a parked lander the verdict took for an article must
never replace a good article. The loader keeps every distinct text as a version; these pure rules decide
whether a new text is plausibly the same article (it becomes current) or a suspect (kept aside, the current
one stays), and when repeated fetches confirm a suspect.

Thresholds were chosen by measurement (``make bench-versions``, figures in docs/schema.md): on 284 real
news articles against perturbed copies of themselves (typos, one paragraph edited, replaced, appended or
dropped, title edited) and against 250 texts extracted from closure, error, challenge and soft-404 pages and
other articles of the same and other sites. No unrelated pair reached text likeness 0.06 or title likeness
0.09; TEXT_MIN and the same-title pair sit at about 2.5 and 1.4 times those maxima.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.similarity import similarity

#: text likeness (weighted character-shingle Jaccard of title + paragraphs) at which a new text is the same
#: article whatever its title says.
TEXT_MIN = 0.15
#: with a title this alike (an unchanged or lightly edited headline) ...
TITLE_MIN = 0.8
#: ... a lower text likeness suffices: short articles with one paragraph rewritten fall between.
TEXT_MIN_SAME_TITLE = 0.08
#: distinct fetches that must serve a suspect's text before it may become current.
CONFIRMATIONS = 3


@dataclass(frozen=True, slots=True)
class Likeness:
    title: float
    text: float

    @property
    def plausible(self) -> bool:
        """Plausibly the same article, edited: the new text may become current at once."""
        return self.text >= TEXT_MIN or (self.title >= TITLE_MIN and self.text >= TEXT_MIN_SAME_TITLE)


def article_text(title: str, paragraphs: str) -> str:
    """The text compared: the title, then the paragraphs (joined by newlines, as ``articles.body``)."""
    return f"{title}\n{paragraphs}"


def likeness(old_title: str, old_body: str, new_title: str, new_body: str) -> Likeness:
    return Likeness(
        similarity(old_title, new_title),
        similarity(article_text(old_title, old_body), article_text(new_title, new_body)),
    )


def confirmed(seen_count: int, records: int, current_records: int) -> bool:
    """A suspect becomes current after ``CONFIRMATIONS`` distinct fetches served it (and none served the
    current text since, which drops it), unless it yields no records while the current one does: a
    challenge or soft-404 page taken for an article yields none, so it never displaces one that does."""
    return seen_count >= CONFIRMATIONS and (records > 0 or current_records == 0)
