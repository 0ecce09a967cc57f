"""Write a project shaped like the shipped example, scaled to about N records, deterministically.

Forty brands (tone, voice, examples, banned phrases, campaigns, products), contexts of eight
kinds, three data files of customer care (comments JSONL, reviews CSV, orders JSONL with a
list of items), and six tasks of sixteen rules (bench/realistic_tasks.py) that use `each` over
brands, contexts, collections, fields of brands and of data-file rows, `when` filters, picks,
`sample`, Jinja branches and filters, a system prompt, rejected answers, and the formats the
example declares. About 2 % of the records are duplicates and 2 % are dropped by the length
limits, as the data plants them (see Plan).

    python bench/realistic.py OUT [--records N] [--brands N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from project import EMOJI, NAME_HEAD, NAME_TAIL, PRODUCTS  # noqa: E402
from realistic_data import (  # noqa: E402
    BANNED,
    PLATFORMS,
    csv_file,
    en,
    jsonl_file,
    make_comments,
    make_orders,
    make_reviews,
    th,
)
from realistic_tasks import TASKS  # noqa: E402

SEED = 20260104
BRANDS = 40
# Per 200,000 records: contexts, products per brand, and rows of each data file.
CONTEXTS, PRODUCTS_PER_BRAND = 80, 30
COMMENTS, REVIEWS, ORDERS = 80_000, 64_000, 12_000

KINDS = [
    ("product_launch", "การเปิดตัวสินค้าใหม่", "product launch"),
    ("weekend_post", "โพสต์ช่วงสุดสัปดาห์", "weekend post"),
    ("seasonal_campaign", "แคมเปญตามฤดูกาลและเทศกาล", "seasonal campaign"),
    ("user_engagement", "โพสต์ชวนผู้ติดตามร่วมสนุก", "user engagement post"),
    ("flash_sale", "โปรโมชันระยะสั้น", "flash sale"),
    ("loyalty_program", "โปรแกรมสมาชิก", "loyalty program"),
    ("community_event", "กิจกรรมชุมชน", "community event"),
    ("behind_the_scenes", "เบื้องหลังการทำงาน", "behind the scenes"),
]


@dataclass(frozen=True)
class Plan:
    """What the generator wrote: the bindings the rules make, and what it planted in them."""

    brands: int
    contexts: int
    products: int
    comments: int
    reviews: int
    orders: int
    bindings: int  # records before the checks: what the naive script writes
    reposted: int  # comments that repeat an earlier one (duplicates, or too short)
    exported_twice: int  # reviews that repeat an earlier one (duplicates)
    short_replies: int  # replies under the output limit (dropped)
    long_reviews: int  # reviews over the input limit (dropped)


def _content(row: dict[str, Any], key: str) -> str:
    """A row without its id, as text: equal for a row and its copy."""
    return json.dumps({k: v for k, v in row.items() if k != key}, sort_keys=True)


def _campaign(rng: random.Random, kind: str, label_th: str, label_en: str) -> dict[str, Any]:
    product_th, product_en = rng.choice(PRODUCTS)
    return {
        "hashtag": "#" + kind.title().replace("_", ""),
        "th": {
            "objective": f"ทำให้ลูกค้ารู้จัก{product_th}มากขึ้นผ่าน{label_th}",
            "insight": th(rng, 2),
            "key_message": f"{product_th}ที่ตั้งใจทำทุกขั้นตอน",
            "facts": [th(rng, 1) for _ in range(3)],
            "hook": f"{label_th}ครั้งนี้มาพร้อม{product_th}",
            "body": th(rng, 5),
            "cta": "แวะมาที่สาขาใกล้บ้านหรือสั่งผ่านไลน์ได้เลย",
            "video_idea": th(rng, 2),
            "tiktok": f"{product_th}มาแล้ว {label_th}",
        },
        "en": {
            "objective": f"Make more people try our {product_en} through a {label_en}",
            "insight": en(rng, 2),
            "key_message": f"{product_en.capitalize()}, made with care at every step",
            "facts": [en(rng, 1) for _ in range(3)],
            "hook": f"This {label_en} comes with our {product_en}",
            "body": en(rng, 3),
            "cta": "Drop by your nearest branch or order on LINE.",
            "video_idea": en(rng, 2),
            "tiktok": f"Our {product_en} is here: {label_en}",
        },
    }


def brand(index: int, rng: random.Random, products: int) -> dict[str, Any]:
    """One brand shaped like brands/coffeelab.yaml: voice, examples, guardrails, vars."""
    name = f"{NAME_HEAD[index % len(NAME_HEAD)]} {NAME_TAIL[index // len(NAME_HEAD) % 4]}"
    emoji, tag = EMOJI[index % len(EMOJI)], "#" + name.replace(" ", "")
    own = [rng.choice(PRODUCTS) for _ in range(products)]

    def caption(i: int, lang: str) -> dict[str, Any]:
        p_th, p_en = own[i % len(own)]
        text = f"{p_th} {th(rng, 2)} {emoji}" if lang == "th" else f"{en(rng, 2)} {emoji}"
        return {
            "id": f"c{i:02d}",
            "lang": lang,
            "topic": f"{p_th if lang == 'th' else p_en} ({i + 1})",
            "text": f"{text}\n{tag}",
        }

    def bad(i: int, lang: str) -> dict[str, Any]:
        p_th, p_en = own[i % len(own)]
        return {
            "id": f"b{i:02d}",
            "lang": lang,
            "topic": f"{p_th if lang == 'th' else p_en} ({i + 1})",
            "text": f"{p_th}{BANNED[0]}!!! ซื้อเลย" if lang == "th" else f"CHEAPEST {p_en}!!!",
            "issues": th(rng, 1) if lang == "th" else en(rng, 1),
            "rewrite": (f"{th(rng, 2)} {emoji}" if lang == "th" else f"{en(rng, 2)} {emoji}")
            + f"\n{tag}",
        }

    langs = ["th", "en"]
    locale = {
        lang: {
            "audience": th(rng, 1) if lang == "th" else en(rng, 1),
            "tone": "อบอุ่น เป็นกันเอง" if lang == "th" else "warm and easy-going",
            "avoid_note": "ไม่พูดถึงราคาถูกหรือเร่งขาย" if lang == "th" else "No hard selling.",
            "key_messages": [th(rng, 1) if lang == "th" else en(rng, 1) for _ in range(3)],
            "pillars": [th(rng, 1) if lang == "th" else en(rng, 1) for _ in range(4)],
            "cadence": {p: f"{rng.randint(2, 5)} posts a week" for p in PLATFORMS},
        }
        for lang in langs
    }
    return {
        "id": f"brand_{index:03d}",
        "name": name,
        "tagline": f"{rng.choice(PRODUCTS)[1].capitalize()} for every day",
        "tone": rng.sample(["friendly", "premium", "modern", "playful", "calm", "bold"], 3),
        "audience": en(rng, 1),
        "platforms": sorted(rng.sample(PLATFORMS, 2)),
        "language": rng.choice(langs),
        "voice": {
            "emoji": [emoji],
            "hashtags": [tag, "#EveryDay"],
            "style": en(rng, 1),
            "phrases": [th(rng, 1), en(rng, 1)],
        },
        "key_messages": [en(rng, 1) for _ in range(3)],
        "values": ["craft", "care"],
        "examples": {
            "caption": {
                "good": [caption(i, langs[i % 5 == 4]) for i in range(10)],
                "bad": [bad(i, langs[i % 2]) for i in range(4)],
            },
            "message": {
                "good": [
                    {
                        "id": f"m{i}",
                        "lang": langs[i % 2],
                        "text": th(rng, 2) if i % 2 == 0 else en(rng, 2),
                        "rewrite": f"{th(rng, 2)} {emoji}"
                        if i % 2 == 0
                        else f"{en(rng, 2)} {emoji}",
                    }
                    for i in range(6)
                ]
            },
        },
        "do_not_use": BANNED,
        "must_include": [emoji],
        "vars": {
            "locale": locale,
            "campaigns": {kind: _campaign(rng, kind, th, en) for kind, th, en in KINDS},
            "products": [
                {
                    "id": f"p{i:03d}",
                    "name": own[i][1],
                    "name_th": own[i][0],
                    "facts": {
                        "th": [th(rng, 1) for _ in range(3)],
                        "en": [en(rng, 1) for _ in range(3)],
                    },
                    "caption": {
                        "th": f"{own[i][0]} {th(rng, 3)} {emoji}\n{tag}",
                        "en": f"{own[i][1].capitalize()}. {en(rng, 2)} {emoji}\n{tag}",
                    },
                }
                for i in range(products)
            ],
            "localizations": [
                {
                    "id": f"l{i}",
                    "source": langs[i % 2],
                    "th": f"{th(rng, 2)} {emoji}",
                    "en": f"{en(rng, 2)} {emoji}",
                }
                for i in range(6)
            ],
            "strategy": {
                goal: {
                    "th": {"focus": th(rng, 2), "ideas": [th(rng, 1) for _ in range(4)]},
                    "en": {"focus": en(rng, 2), "ideas": [en(rng, 1) for _ in range(4)]},
                }
                for goal in ("awareness", "engagement", "conversion", "loyalty", "retention")
            },
        },
    }


def context(index: int, rng: random.Random) -> dict[str, Any]:
    kind, label_th, label_en = KINDS[index % len(KINDS)]
    number = index // len(KINDS) + 1
    return {
        "id": f"{kind}_{number:02d}",
        "name": f"{label_en.capitalize()} {number}",
        "description": en(rng, 1),
        "vars": {
            "kind": kind,
            "label": {"th": f"{label_th}ครั้งที่ {number}", "en": f"{label_en} no. {number}"},
            "background_th": th(rng, 6),
            "deliverables": {p: {"th": th(rng, 1), "en": en(rng, 1)} for p in PLATFORMS},
            "kpis": {"th": [th(rng, 1) for _ in range(3)], "en": [en(rng, 1) for _ in range(3)]},
            "timeline": {"th": th(rng, 1), "en": en(rng, 1)},
        },
    }


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)
    path.write_text(text, encoding="utf-8")


def write_realistic(root: Path, records: int = 200_000, brands: int = BRANDS) -> Plan:
    """Write the project into root (replacing its specs and data); returns what it holds.

    The brand files hold a fixed share (about 100 records a brand); contexts, products and the
    rows of the data files scale with records / 200,000.
    """
    scale = records / 200_000
    n_contexts = max(2, round(CONTEXTS * scale))
    n_products = max(2, round(PRODUCTS_PER_BRAND * min(scale, 1.0)))
    n_comments, n_reviews = max(50, round(COMMENTS * scale)), max(50, round(REVIEWS * scale))
    n_orders = max(20, round(ORDERS * scale))
    rng = random.Random(SEED)
    for folder in ("brands", "specs", "data"):
        for old in sorted((root / folder).rglob("*")) if (root / folder).is_dir() else []:
            if old.is_file():
                old.unlink()
    all_brands = [brand(i, rng, n_products) for i in range(brands)]
    for b in all_brands:
        _dump(root / "brands" / f"{b['id']}.yaml", b)
    _dump(
        root / "specs" / "contexts.yaml", {"contexts": [context(i, rng) for i in range(n_contexts)]}
    )
    comments = make_comments(rng, all_brands, n_comments)
    reviews = make_reviews(rng, all_brands, n_reviews)
    orders = make_orders(rng, all_brands, n_orders)
    jsonl_file(root / "data" / "comments.jsonl", comments)
    csv_file(root / "data" / "reviews.csv", reviews)
    jsonl_file(root / "data" / "orders.jsonl", orders)
    items = sum(1 for order in orders for item in order["items"] if item["qty"] > 0)
    sample = items - items // 20  # the follow-up rule samples 95 % of the items
    _dump(
        root / "specs" / "dataset.yaml",
        {
            "name": "bench-realistic",
            "description": f"The shipped example's shape at scale: {brands} brands, "
            f"{n_contexts} contexts, {n_comments} comments, {n_reviews} reviews, "
            f"{n_orders} orders.",
            "seed": SEED,
            "split": {
                "method": "stratified",
                "ratios": {"train": 0.8, "val": 0.1, "test": 0.1},
                "group_by": "output",
                "stratify_by": ["task"],
            },
            "limits": {
                "instruction": {"min": 10, "max": 1000},
                "input": {"min": 0, "max": 4000},
                "output": {"min": 20, "max": 4000},
            },
            "collections": {"languages": ["th", "en"]},
            "formats": ["alpaca", "messages", "preference", "kto"],
        },
    )
    for name, text in TASKS.items():
        path = root / "specs" / "tasks" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("SAMPLE", str(sample)), encoding="utf-8")
    per_brand = 10 + 4 + 6 + 6 + 5 * 2 + 2 + 2 * n_products
    return Plan(
        brands=brands,
        contexts=n_contexts,
        products=n_products,
        comments=n_comments,
        reviews=n_reviews,
        orders=n_orders,
        bindings=brands * per_brand + 3 * brands * n_contexts * 2 + n_comments + n_reviews + sample,
        reposted=len(comments) - len({_content(row, "id") for row in comments}),
        exported_twice=len(reviews) - len({_content(row, "review_id") for row in reviews}),
        short_replies=sum(len(row["reply"]) < 20 for row in comments),
        long_reviews=sum(len(row["text"]) > 3000 for row in reviews),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the project folder to write")
    parser.add_argument("--records", type=int, default=200_000, help="about how many records")
    parser.add_argument("--brands", type=int, default=BRANDS, help=f"brands (default {BRANDS})")
    args = parser.parse_args(argv)
    print(json.dumps(asdict(write_realistic(args.out, args.records, args.brands))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
