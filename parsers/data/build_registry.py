"""One-off builder of groups.tsv and units.tsv from ../shared/reference (run once; the TSVs are the source of truth).

    python parsers/data/build_registry.py ../shared/reference

Why a script at all: the reference tables carry 109 groups and ~240 units with sources; copying them by hand
would lose sources and invite typos. After the first run operators edit groups.tsv / units.tsv directly (one
row per group or unit); re-running overwrites those edits, so it refuses to run when units.tsv exists unless
--force is given.

What it decides (each a family rule, written here once):
- group prefixes: the group's short names, its full name, and the full name without 有限公司/有限责任公司;
- a unit alias is *subject-only* (matched bare only in subject position or after its own group's prefix)
  when it is shorter than four characters, has no Chinese character, is named in README_soes.md as an
  ordinary or generic word, or is shared by units of different groups;
- AECC rows of subsidiaries.tsv supplement the AECC rows migrated from the old gazetteer.tsv.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
GROUP_COLUMNS = ["key", "label", "prefixes", "merged_into", "sasac_list", "source", "note"]
UNIT_COLUMNS = [
    "group", "name", "full_name", "aliases", "subject_aliases", "unit_type", "city", "source", "confidence", "note",
]
#: README_soes.md, "Matching rules": names that must be matched only after a group prefix or as a subject.
README_UNSAFE = {"东安", "洪都", "西飞", "沈飞", "金城", "宝胜", "客服公司", "试飞中心", "研究院", "商发"}
#: the old gazetteer's extra CASC prefix (航天一院, 航天五院) kept; longest prefix wins (航天科工 is CASIC).
EXTRA_PREFIXES = {"CASC": ["航天"], "CETC": ["电科"], "AVIC": ["中国航空工业集团公司", "航空工业集团公司"]}
MERGED = {"CSIC": "CSSC", "CSSC_OLD": "CSSC", "HUALU": "CETC", "POTEVIO": "CETC", "SINOSTEEL": "BAOWU"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def split(value: str) -> list[str]:
    return [v.strip() for v in value.split("|") if v.strip()]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def groups(ref: Path) -> list[dict[str, str]]:
    out = []
    for row in read(ref / "central_soes.tsv"):
        key, full = row["key"], row["full_name"].strip()
        prefixes = split(row["short_names"])
        if full:
            prefixes.append(full)
            for tail in ("有限责任公司", "有限公司"):
                if full.endswith(tail):
                    prefixes.append(full[: -len(tail)])
        prefixes += EXTRA_PREFIXES.get(key, [])
        out.append(
            {
                "key": key,
                "label": full or prefixes[0],
                "prefixes": "|".join(dict.fromkeys(p.replace("（", "(").replace("）", ")") for p in prefixes)),
                "merged_into": MERGED.get(key, ""),
                "sasac_list": row["sasac_list"],
                "source": f"reference/central_soes.tsv: {row['sources']}",
                "note": f"{row['confidence']}; {row['note']}",
            }
        )
    return out


def units(ref: Path, gazetteer: Path) -> list[dict[str, str]]:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for g in read(gazetteer):
        rows[(g["group"], g["name"])] = {
            "group": g["group"],
            "name": g["name"],
            "full_name": g["full_name"],
            "aliases": g["aliases"],
            "subject_aliases": g["subject_aliases"],
            "unit_type": g["unit_type"],
            "city": g["city"],
            "source": f"gazetteer.tsv (from reference/aecc_units.tsv): {g['source']}",
            "confidence": _confidence(g["note"]),
            "note": g["note"],
        }
    for s in read(ref / "subsidiaries.tsv"):
        key = (s["group"], s["name"])
        names = [n for n in [s["name"], *split(s["aliases"])] if "(" not in n and "/" not in n]
        source = f"reference/subsidiaries.tsv: {s['sources']}"
        if key in rows:  # a supplement to a migrated row: more aliases and sources
            row = rows[key]
            old = split(row["aliases"]) + split(row["subject_aliases"])
            row["aliases"] = "|".join(dict.fromkeys([*split(row["aliases"]), *(n for n in names if n not in old)]))
            row["full_name"] = row["full_name"] or s["full_name"]
            row["source"] += f" ; {source}"
            continue
        rows[key] = {
            "group": s["group"],
            "name": s["name"],
            "full_name": s["full_name"],
            "aliases": "|".join(dict.fromkeys(names)),
            "subject_aliases": "",
            "unit_type": s["unit_type"],
            "city": s["city"],
            "source": source,
            "confidence": s["confidence"],
            "note": s["note"],
        }
    owners: dict[str, set[str]] = {}
    for row in rows.values():
        for alias in split(row["aliases"]) + split(row["subject_aliases"]):
            owners.setdefault(alias, set()).add(row["group"])
    for row in rows.values():
        subject = split(row["subject_aliases"])
        for alias in split(row["aliases"]):
            unsafe = len(alias) < 4 or not _CJK.search(alias) or alias in README_UNSAFE or len(owners[alias]) > 1
            if unsafe and alias not in subject:
                subject.append(alias)
        row["subject_aliases"] = "|".join(subject)
        row["aliases"] = "|".join(dict.fromkeys([*split(row["aliases"]), *subject]))
    return list(rows.values())


def _confidence(note: str) -> str:
    m = re.search(r"confidence: (\w+)", note)
    return m.group(1) if m else ("unverified" if "unverified" in note else "")


def write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, columns, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n", escapechar="\\")
        w.writeheader()
        for row in rows:
            w.writerow({c: row[c].replace("\t", " ").replace("\n", " ") for c in columns})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("reference", type=Path)
    ap.add_argument("--gazetteer", type=Path, default=HERE / "gazetteer.tsv")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    if (HERE / "units.tsv").exists() and not args.force:
        print("units.tsv exists and is edited by hand now; pass --force to overwrite", file=sys.stderr)
        return 1
    write(HERE / "groups.tsv", GROUP_COLUMNS, groups(args.reference))
    write(HERE / "units.tsv", UNIT_COLUMNS, units(args.reference, args.gazetteer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
