"""Write a synthetic dsc project of brands × contexts × variants records, deterministically."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

BRANDS = 50
CONTEXTS = 20
SEED = 2024

# Phrases no generated text contains, so the guardrail checks run on every record and pass.
DO_NOT_USE = ["ถูกที่สุด", "ลดแหลก", "cheapest", "guaranteed results", "miracle"]


def _table(text: str) -> list[list[str]]:
    """Rows of ' | '-separated cells, one row a line."""
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


EMOJI = list("☕🍵🥐🍓🥗🧃🧘👕👟🌞🌿🎉✨🔥💪🍜🍰🌸🎁📚🎧🚲🏃🍍🥥")
NAME_ROWS = _table("""
Lumen | Bloom | Kraft | Nimbus | Saffron | Teak | Orchid | Harbor | Pixel | Ember | Willow | Coral
Juniper | Mango | Indigo | Sable | Tamarind | Velvet | Zephyr | Lotus | Basil | Cobalt | Pepper
Maple | Onyx
""")
NAME_HEAD = [name for row in NAME_ROWS for name in row]
NAME_TAIL = ["Kitchen", "Studio", "Lab", "House"]
PRODUCTS = _table("""
กาแฟคั่วสด | fresh roast coffee
ชาเขียวมัทฉะ | matcha latte
ขนมปังอบใหม่ | sourdough loaf
โยเกิร์ตผลไม้ | fruit yoghurt
สลัดผักออร์แกนิก | organic salad
น้ำผลไม้ปั่น | cold-pressed juice
คลาสโยคะยามเช้า | sunrise yoga class
เสื้อยืดผ้าฝ้าย | cotton tee
รองเท้าวิ่ง | trail running shoes
ครีมกันแดด | mineral sunscreen
ข้าวมันไก่ | chicken rice
ต้มยำกุ้ง | tom yum soup
เค้กมะพร้าว | coconut cake
กระเป๋าผ้า | canvas tote
หูฟังไร้สาย | wireless earbuds
""")
ADJECTIVES = _table("""
หอมกรุ่น | fragrant
สดใหม่ทุกวัน | made fresh every day
รสชาติกลมกล่อม | beautifully balanced
นุ่มละมุน | soft and silky
สดชื่น | refreshing
คุณภาพพรีเมียม | premium
ทำมือทีละชิ้น | handmade one at a time
จากเกษตรกรไทย | from Thai farmers
""")
SENTENCES_TH = [
    "เราคัดวัตถุดิบจากแหล่งที่ไว้ใจได้ทุกสัปดาห์",
    "ทีมของเราใส่ใจทุกขั้นตอนตั้งแต่ต้นจนจบ",
    "แวะมาทักทายกันได้ทุกวันตั้งแต่เช้าจนค่ำ",
    "ลูกค้าประจำบอกว่านี่คือช่วงเวลาที่ดีที่สุดของวัน",
    "บรรยากาศสบาย ๆ เหมาะกับการนั่งทำงานหรือพักผ่อน",
    "ทุกชิ้นผ่านการทดสอบหลายรอบก่อนถึงมือคุณ",
    "เราเชื่อว่าสิ่งเล็ก ๆ ที่ทำอย่างตั้งใจเปลี่ยนวันธรรมดาให้พิเศษได้",
    "สั่งล่วงหน้าผ่าน LINE แล้วมารับได้ทันที",
]
SENTENCES_EN = [
    "We source our ingredients from people we trust, every single week.",
    "Our team cares about every step, from the first idea to the last detail.",
    "Drop by and say hello any day from morning until evening.",
    "Regulars tell us this is the best moment of their day.",
    "The space is calm, good for working or simply slowing down.",
    "Every piece is tested many times before it reaches you.",
    "Small things done with care can turn an ordinary day into a good one.",
    "Order ahead on LINE and pick it up on your way.",
]
CONTEXT_NAMES = [
    ("product_launch", "การเปิดตัวสินค้าใหม่", "product launch"),
    ("weekend_post", "โพสต์ช่วงสุดสัปดาห์", "weekend post"),
    ("seasonal_campaign", "แคมเปญตามฤดูกาล", "seasonal campaign"),
    ("flash_sale", "โปรโมชันระยะสั้น", "short promotion"),
    ("customer_story", "เรื่องเล่าจากลูกค้า", "customer story"),
    ("behind_the_scenes", "เบื้องหลังการทำงาน", "behind the scenes"),
    ("how_to", "สอนวิธีใช้", "how-to"),
    ("event_invite", "ชวนร่วมกิจกรรม", "event invitation"),
    ("milestone", "ฉลองความสำเร็จ", "milestone"),
    ("holiday_greeting", "ส่งความสุขวันหยุด", "holiday greeting"),
]
TASK = """\
task: promo
description: Synthetic benchmark task, one record per brand, context and variant.
defaults:
  quality: synthesized
rules:
  - id: post
    each: {brand: brands, context: contexts, variant: variants}
    pick:
      ask: ["เขียนโพสต์", "ช่วยร่างโพสต์", "Write a post", "Draft a post"]
    instruction: >-
      {{ ask }} {{ context.vars.label_th }} สำหรับ {{ brand.name }}: {{ variant.topic_th }}
    input: |
      Brand: {{ brand.name }}
      Tagline: {{ brand.tagline }}
      Context: {{ context.name }} ({{ context.vars.label_en }})
      Topic: {{ variant.topic_en }}
    output: |
      {{ variant.hook_th }} {{ brand.vars.emoji }}
      {{ brand.vars.story_th }}
      {{ context.vars.pitch_th }} {{ variant.detail_th }}
      {{ variant.detail_en }}
      {{ brand.vars.hashtag }} #{{ keys.context }} #{{ keys.variant }}
    metadata:
      lang: th
      platform: "{{ variant.platform }}"
"""


def _sentences(rng: random.Random, pool: list[str], count: int) -> str:
    return " ".join(rng.choice(pool) for _ in range(count))


def _brand(index: int, rng: random.Random, scale: int) -> dict[str, Any]:
    name = f"{NAME_HEAD[index % len(NAME_HEAD)]} {NAME_TAIL[index // len(NAME_HEAD) % 4]}"
    emoji = EMOJI[index % len(EMOJI)]
    return {
        "id": f"brand_{index:03d}",
        "name": name,
        "tagline": f"{rng.choice(ADJECTIVES)[1].capitalize()} {rng.choice(PRODUCTS)[1]}",
        "tone": ["friendly", "modern"],
        "platforms": ["instagram", "tiktok"],
        "language": "th",
        "do_not_use": DO_NOT_USE,
        "must_include": [emoji],
        "vars": {
            "emoji": emoji,
            "hashtag": "#" + name.replace(" ", ""),
            "story_th": _sentences(rng, SENTENCES_TH, 2 * scale),
        },
    }


def _context(index: int, rng: random.Random, scale: int) -> dict[str, Any]:
    base, label_th, label_en = CONTEXT_NAMES[index % len(CONTEXT_NAMES)]
    round_ = index // len(CONTEXT_NAMES) + 1
    return {
        "id": f"{base}_{round_}",
        "name": f"{label_en.capitalize()} {round_}",
        "vars": {
            "label_th": f"{label_th} ครั้งที่ {round_}",
            "label_en": f"{label_en} no. {round_}",
            "pitch_th": _sentences(rng, SENTENCES_TH, scale),
        },
    }


def _variant(index: int, rng: random.Random, scale: int) -> dict[str, Any]:
    product_th, product_en = rng.choice(PRODUCTS)
    adjective_th, adjective_en = rng.choice(ADJECTIVES)
    return {
        "id": f"v{index:06d}",
        "topic_th": f"{product_th} {adjective_th} สูตรที่ {index + 1}",
        "topic_en": f"{product_en}, {adjective_en}, recipe {index + 1}",
        "hook_th": f"{product_th}{adjective_th}มาแล้ว",
        "detail_th": _sentences(rng, SENTENCES_TH, scale),
        "detail_en": _sentences(rng, SENTENCES_EN, 2 * scale),
        "platform": rng.choice(["instagram", "tiktok", "facebook"]),
    }


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)
    path.write_text(text, encoding="utf-8")


# A worse answer for every record (the bench's preference pairs): the hook alone, shouted.
REJECTED = """    rejected: "{{ variant.hook_th }}!!! {{ brand.vars.hashtag }}"
"""


def write_project(root: Path, records: int, scale: int = 1, formats: tuple[str, ...] = ()) -> int:
    """Write the project into root (replacing its specs); returns the number of records it makes.

    scale multiplies the sentences of every long text (scale 5: outputs about 4.2× longer)
    with the same records. formats (other than alpaca) are declared in dataset.yaml; every
    record is then also a preference pair, so that each format has a row for every record.
    """
    variants = max(1, round(records / (BRANDS * CONTEXTS)))
    rng = random.Random(SEED)
    for folder in ("brands", "specs"):
        for old in sorted((root / folder).rglob("*.yaml")) if (root / folder).is_dir() else []:
            old.unlink()
    for i in range(BRANDS):
        _dump(root / "brands" / f"brand_{i:03d}.yaml", _brand(i, rng, scale))
    _dump(
        root / "specs" / "contexts.yaml",
        {"contexts": [_context(i, rng, scale) for i in range(CONTEXTS)]},
    )
    total = BRANDS * CONTEXTS * variants
    _dump(
        root / "specs" / "dataset.yaml",
        {
            "name": "bench",
            "description": f"Synthetic benchmark: {BRANDS} brands × {CONTEXTS} contexts × "
            f"{variants} variants.",
            "seed": SEED,
            "limits": {
                "output": {"min": 20, "max": 100_000},
                "input": {"min": 0, "max": 100_000},
                "max_records": max(total, 1),
                # Long texts at a million records pass the default 4 GiB output budget.
                "max_output_bytes": 64 * 1024**3,
            },
            "collections": {"variants": [_variant(i, rng, scale) for i in range(variants)]},
            **({"formats": ["alpaca", *formats]} if formats else {}),
        },
    )
    (root / "specs" / "tasks").mkdir(parents=True, exist_ok=True)
    task = TASK.replace("    metadata:\n", REJECTED + "    metadata:\n") if formats else TASK
    (root / "specs" / "tasks" / "promo.yaml").write_text(task, encoding="utf-8")
    return total
