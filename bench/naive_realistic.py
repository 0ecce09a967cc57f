"""The naive script for the realistic bench project: its rules as str.format, no checks.

What a one-off generator for bench/realistic.py's project looks like: read the brands, the
contexts and the data files, format every record's texts with Python strings (the same texts
the task files' templates make, phrasings chosen with one seeded random stream instead of keyed
picks), and hand the list of rows to bench/baselines.py, which shuffles and slices it. No
length limits, guardrails or duplicates are checked, so it writes every binding: dsc's kept
records plus its drops.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Row = dict[str, Any]
BRAND_SYSTEM = "You write marketing copy for {b[name]} ({b[tagline]}). Voice: {b[voice][style]}"
LANGS = ["th", "en"]
GOALS = ["awareness", "engagement", "conversion", "loyalty", "retention"]


def _read(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _numbered(items: list[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, start=1))


def _row(
    task: str, rule: str, system: str, instruction: str, input_: str, output: str, **metadata: Any
) -> Row:
    return {
        "instruction": instruction.strip(),
        "input": input_.strip(),
        "output": output.strip(),
        "system": system,
        "metadata": {"task": task, "rule": rule, **metadata},
    }


def _captions(b: Row, contexts: list[Row], rng: random.Random) -> Iterator[Row]:
    system, tone, tags = (
        BRAND_SYSTEM.format(b=b),
        ", ".join(b["tone"]),
        " ".join(b["voice"]["hashtags"]),
    )
    emoji, task = b["voice"]["emoji"][0], "caption_generation"
    for c in b["examples"]["caption"]["good"]:
        if c["lang"] == "th":
            ask = rng.choice(["เขียน caption", "ช่วยเขียน caption", "ร่าง caption", "ขอ caption"])
            yield _row(
                task,
                "real_captions_th",
                system,
                f"{ask} Instagram สำหรับ {b['name']} ใช้ tone: {tone}",
                f"Brand: {b['name']}\nTagline: {b['tagline']}\nหัวข้อโพสต์: {c['topic']}\n"
                f"แฮชแท็กหลัก: {tags}",
                c["text"],
                brand=b["id"],
                lang="th",
            )
        else:
            ask = rng.choice(["Write an Instagram caption", "Draft an Instagram caption"])
            yield _row(
                task,
                "real_captions_en",
                system,
                f"{ask} for {b['name']}. Tone: {tone}.",
                f"Brand: {b['name']}\nTagline: {b['tagline']}\nTopic: {c['topic']}\n"
                f"Core hashtags: {tags}",
                c["text"],
                brand=b["id"],
                lang="en",
            )
    for c in b["examples"]["caption"]["bad"]:
        row = _row(
            task,
            "caption_pairs",
            system,
            f"Write a caption for {b['name']} about: {c['topic']}",
            f"Tone: {tone}",
            c["rewrite"],
            brand=b["id"],
            lang=c["lang"],
        )
        yield {**row, "rejected": c["text"]}
    for ctx in contexts:
        camp = b["vars"]["campaigns"][ctx["vars"]["kind"]]
        for lang in LANGS:
            c, label = camp[lang], ctx["vars"]["label"][lang]
            if lang == "th":
                ask = rng.choice(["เขียน caption Instagram", "ช่วยเขียน caption Instagram"])
                instruction = f"{ask} สำหรับ{label}ของ {b['name']} ใช้ tone: {tone}"
            else:
                ask = rng.choice(["Write an Instagram caption", "Draft an Instagram caption"])
                instruction = f"{ask} for {b['name']}'s {label}. Tone: {tone}."
            details = "รายละเอียด" if lang == "th" else "Details"
            yield _row(
                task,
                "campaign_instagram",
                system,
                instruction,
                f"Brand: {b['name']}\nContext: {ctx['name']}\n{details}:\n{_bullets(c['facts'])}",
                f"{c['hook']} {emoji}\n{c['body']}\n{c['cta']}\n\n{tags} {camp['hashtag']}",
                brand=b["id"],
                context=ctx["id"],
                lang=lang,
            )
            ask = rng.choice(["เขียน caption TikTok สั้น ๆ", "Write a short TikTok caption"])
            yield _row(
                task,
                "campaign_tiktok",
                system,
                f"{ask}: {b['name']}, {label}",
                ctx["vars"]["background_th"] if lang == "th" else ctx["description"],
                f"{c['tiktok']} {emoji}\n{b['voice']['hashtags'][0]} {camp['hashtag']}",
                brand=b["id"],
                context=ctx["id"],
                platform="tiktok",
                lang=lang,
            )
    for p in b["vars"]["products"]:
        for lang in LANGS:
            if lang == "th":
                instruction = f"เขียน caption แนะนำสินค้า {p['name_th']} ของ {b['name']}"
            else:
                instruction = f"Write a product spotlight caption for {b['name']}'s {p['name']}."
            yield _row(
                task,
                "product_spotlight",
                system,
                instruction,
                f"Product: {p['name']}\n{_bullets(p['facts'][lang])}",
                p["caption"][lang],
                brand=b["id"],
                lang=lang,
            )


def _briefs(b: Row, contexts: list[Row], rng: random.Random) -> Iterator[Row]:
    system, tone, tags = (
        BRAND_SYSTEM.format(b=b),
        ", ".join(b["tone"]),
        " ".join(b["voice"]["hashtags"]),
    )
    for ctx in contexts:
        camp, v = b["vars"]["campaigns"][ctx["vars"]["kind"]], ctx["vars"]
        for lang in LANGS:
            c, loc, label = camp[lang], b["vars"]["locale"][lang], v["label"][lang]
            th = lang == "th"
            ask = rng.choice(
                ["เขียน campaign brief", "ร่าง campaign brief"]
                if th
                else ["Write a campaign brief", "Draft a campaign brief"]
            )
            instruction = (
                f"{ask} สำหรับ{label}ของ {b['name']} ให้ครอบคลุมวัตถุประสงค์ insight ชิ้นงาน และ KPI"
                if th
                else f"{ask} for {b['name']}'s {label}: objective, insight, deliverables and KPIs."
            )
            deliverables = "\n".join(f"- {p}: {v['deliverables'][p][lang]}" for p in b["platforms"])
            output = (
                f"{b['voice']['emoji'][0]} Campaign Brief: {b['name']} | {label}\n\n"
                f"{'วัตถุประสงค์' if th else 'Objective'}\n{c['objective']}\n\n"
                f"{'กลุ่มเป้าหมาย' if th else 'Audience'}\n{loc['audience']}\n\n"
                f"Insight\n{c['insight']}\n\nKey message\n{c['key_message']}\n\n"
                f"{'ชิ้นงาน' if th else 'Deliverables'}\n{deliverables}\n\n"
                f"KPI\n{_bullets(v['kpis'][lang])}\n\n{v['timeline'][lang]}\n"
                f"- {loc['avoid_note']} {tags} {camp['hashtag']}"
            )
            yield _row(
                "brief_generation",
                "campaign_brief",
                system,
                instruction,
                f"Brand: {b['name']}\nTone: {tone}\nContext: {ctx['name']}\n{v['background_th']}",
                output,
                brand=b["id"],
                context=ctx["id"],
                platform="/".join(b["platforms"]),
                lang=lang,
            )


def _voice_and_strategy(b: Row, rng: random.Random) -> Iterator[Row]:
    system, emoji = BRAND_SYSTEM.format(b=b), b["voice"]["emoji"][0]
    for m in b["examples"]["message"]["good"]:
        ask = rng.choice(
            ["แปลงข้อความนี้ให้เข้ากับ brand voice ของ", "Rewrite this message in the voice of"]
        )
        yield _row(
            "brand_voice_adaptation",
            "message_rewrite",
            system,
            f"{ask} {b['name']}",
            m["text"],
            m["rewrite"],
            brand=b["id"],
            lang=m["lang"],
        )
    for pair in b["vars"]["localizations"]:
        to_th = pair["source"] == "en"
        ask = "แปลเป็นภาษาไทยแบบ transcreation" if to_th else "Transcreate into English"
        yield _row(
            "brand_voice_adaptation",
            "transcreation",
            system,
            f"{ask} for {b['name']}",
            pair["en" if to_th else "th"],
            pair["th" if to_th else "en"],
            brand=b["id"],
            lang="th" if to_th else "en",
        )
    for lang in LANGS:
        loc = b["vars"]["locale"][lang]
        for goal in GOALS:
            s = b["vars"]["strategy"][goal][lang]
            ask = rng.choice(
                ["วางแผน content strategy"] if lang == "th" else ["Create a content strategy"]
            )
            cadence = "\n".join(f"- {p}: {loc['cadence'][p]}" for p in b["platforms"])
            yield _row(
                "strategy_generation",
                "content_strategy",
                system,
                f"{ask}: {b['name']}, {goal}",
                f"Audience: {loc['audience']}",
                f"{emoji} Content Strategy: {b['name']} | {goal}\n{s['focus']}\n\n"
                f"Content pillars\n{_numbered(loc['pillars'])}\n\n{cadence}\n\n"
                f"{_numbered(s['ideas'])}",
                brand=b["id"],
                lang=lang,
            )
        ask = "สรุป brand voice guide ของ" if lang == "th" else "Write the brand voice guide of"
        yield _row(
            "strategy_generation",
            "voice_guide",
            system,
            f"{ask} {b['name']}",
            f"Tone: {', '.join(b['tone'])}",
            f"{emoji} Brand Voice Guide: {b['name']}\n"
            f"{b['tagline']} ({loc['tone']})\n{_bullets(loc['key_messages'])}\n"
            f"{' / '.join(b['voice']['phrases'])}\n- {loc['avoid_note']}",
            brand=b["id"],
            lang=lang,
        )


def _care(project: Path, rng: random.Random) -> Iterator[Row]:
    with open(project / "data" / "comments.jsonl", encoding="utf-8") as f:
        for line in f:
            c = json.loads(line)
            if c["lang"] == "th":
                instruction = f"ตอบคอมเมนต์นี้ในฐานะแอดมินของ {c['brand_name']}"
                input_ = f"คุณ{c['customer']} ({c['platform']}): {c['comment']}"
            else:
                instruction = f"Reply to this comment as {c['brand_name']}'s social media team."
                input_ = f"{c['customer']} ({c['platform']}): {c['comment']}"
            yield _row(
                "customer_care",
                f"comment_reply_{c['lang']}",
                "",
                instruction,
                input_,
                c["reply"],
                brand=c["brand"],
                platform=c["platform"],
                lang=c["lang"],
            )
    with open(project / "data" / "reviews.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            good = int(r["rating"]) >= 4
            instruction = (
                f"Answer this {r['rating']}-star review for {r['brand_name']} "
                f"({r['branch']}){'.' if good else ' and make it right.'}"
            )
            row = _row(
                "customer_care",
                "review_thanks" if good else "review_apology",
                "",
                instruction,
                f"{r['title']}\n{r['text']}",
                r["reply"],
                brand=r["brand"],
                lang=r["lang"],
            )
            yield {**row, "rejected": r["draft_reply"]} if r["draft_reply"] else row


def _orders(project: Path, sample: int, rng: random.Random) -> Iterator[Row]:
    items = []
    with open(project / "data" / "orders.jsonl", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            items += [(o, item) for item in o["items"] if item["qty"] > 0]
    for o, item in rng.sample(items, sample):
        qty, product, who = item["qty"], item["product"], o["customer"]
        if o["lang"] == "th":
            output = (
                f"{rng.choice(['ขอบคุณที่สั่ง', 'ได้รับคำสั่งซื้อ'])} {product} {qty} ชิ้นค่ะคุณ"
                f"{who} {o['emoji']}\nจะถึงภายใน {o['eta_days']} วัน {item['note']}"
            )
        else:
            output = (
                f"{rng.choice(['Thank you for ordering', 'We have your order of'])} {qty} "
                f"× {product}, {who} {o['emoji']}\nIt arrives within {o['eta_days']} days. "
                f"{item['note']}"
            )
        yield _row(
            "order_messages",
            "order_followup",
            "",
            f"Write {o['brand_name']}'s follow-up for order {o['id']} ({o['channel']}), "
            f"item {product}.",
            f"{who}: {qty} × {product}, {o['eta_days']} days",
            output,
            brand=o["brand"],
            platform=o["channel"],
            lang=o["lang"],
        )


def rows(project: Path) -> list[Row]:
    """Every record of the realistic project, in the order the loops make them."""
    brands = [_read(p) for p in sorted((project / "brands").glob("*.yaml"))]
    contexts = _read(project / "specs" / "contexts.yaml")["contexts"]
    dataset = _read(project / "specs" / "dataset.yaml")
    followup = _read(project / "specs" / "tasks" / "order_messages.yaml")["rules"][0]
    rng = random.Random(dataset["seed"])
    records: list[Row] = []
    for b in brands:
        records += _captions(b, contexts, rng)
        records += _briefs(b, contexts, rng)
        records += _voice_and_strategy(b, rng)
    records += _care(project, rng)
    records += _orders(project, followup["sample"], rng)
    return records
