"""Text pools and the data files of the realistic bench project: comments, reviews, orders.

The rows are what a brand's exports hold: customer comments and the admin's replies (JSONL),
store reviews (CSV, every value a string), orders with a list of items (JSONL). Some rows are
planted to be duplicates (a comment re-posted, a review exported twice) or to fall outside the
length limits (a reply of two words, a review pasted over and over).
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

from project import PRODUCTS

# Shares of planted rows: re-posted comments (duplicates), replies too short for the limits,
# exported-twice reviews, reviews pasted many times over (too long for the input limit).
REPOSTED, SHORT_REPLY, REVIEW_TWICE, REVIEW_SPAM = 0.04, 0.03, 0.01, 0.015
PLATFORMS = ["instagram", "tiktok", "facebook"]
BANNED = ["ถูกที่สุด", "ลดแหลก", "cheapest", "guaranteed results", "miracle"]
TH = [
    "เราคัดวัตถุดิบจากแหล่งที่ไว้ใจได้ทุกสัปดาห์เพื่อให้ทุกชิ้นมีคุณภาพเท่ากัน",
    "ทีมงานของเราใส่ใจทุกขั้นตอนตั้งแต่การเลือกวัตถุดิบไปจนถึงการส่งมอบถึงมือลูกค้า",
    "ลูกค้าหลายท่านบอกว่าบรรยากาศของร้านทำให้รู้สึกเหมือนได้พักผ่อนอยู่ที่บ้าน",
    "สินค้าทุกชิ้นผ่านการทดสอบหลายรอบก่อนวางจำหน่ายเพื่อให้มั่นใจว่าใช้งานได้จริง",
    "เราเชื่อว่าสิ่งเล็กๆที่ทำอย่างตั้งใจเปลี่ยนวันธรรมดาให้กลายเป็นวันพิเศษได้",
    "สั่งล่วงหน้าผ่านไลน์แล้วแวะมารับที่สาขาใกล้บ้านได้ทันทีโดยไม่ต้องรอคิว",
    "ช่วงสุดสัปดาห์นี้เรามีกิจกรรมพิเศษสำหรับสมาชิกที่มาพร้อมครอบครัวและเพื่อน",
    "ทุกคำติชมของลูกค้าถูกส่งต่อให้ทีมพัฒนาสินค้าเพื่อปรับปรุงให้ดีขึ้นอย่างต่อเนื่อง",
    "เราใช้บรรจุภัณฑ์ที่ย่อยสลายได้เพื่อลดขยะพลาสติกและดูแลสิ่งแวดล้อมไปด้วยกัน",
    "พนักงานทุกคนผ่านการอบรมเพื่อให้คำแนะนำที่ตรงกับความต้องการของลูกค้าแต่ละคน",
    "สมาชิกสะสมแต้มได้ทุกครั้งที่ซื้อและแลกรับของรางวัลได้ที่ทุกสาขาทั่วประเทศ",
    "หากสินค้ามีปัญหาสามารถติดต่อทีมดูแลลูกค้าได้ตลอดเวลาทางแชตหรือโทรศัพท์",
    "เมนูใหม่ประจำฤดูกาลนี้ได้แรงบันดาลใจจากวัตถุดิบท้องถิ่นของภาคเหนือ",
    "เราร่วมมือกับเกษตรกรรายย่อยเพื่อให้รายได้กลับไปถึงชุมชนอย่างเป็นธรรม",
    "ทุกเช้าทีมของเราเตรียมสินค้าสดใหม่ก่อนเปิดร้านเพื่อให้ลูกค้าได้รับสิ่งที่ดีที่สุด",
    "ติดตามเพจของเราไว้เพื่อไม่พลาดข่าวสารโปรโมชันและกิจกรรมดีๆในแต่ละเดือน",
    "การจัดส่งใช้เวลาประมาณสองถึงสามวันทำการสำหรับพื้นที่กรุงเทพและปริมณฑล",
    "ลูกค้าสามารถเปลี่ยนหรือคืนสินค้าได้ภายในสิบสี่วันหากสินค้ายังไม่ผ่านการใช้งาน",
    "เราตั้งใจสร้างพื้นที่ที่ทุกคนรู้สึกปลอดภัยและเป็นตัวของตัวเองได้อย่างเต็มที่",
    "คอนเทนต์ชุดนี้เล่าเรื่องเบื้องหลังการทำงานของทีมที่หลายคนอาจยังไม่เคยเห็น",
    "แคมเปญนี้ชวนทุกคนแชร์ช่วงเวลาประทับใจพร้อมแฮชแท็กของแบรนด์เพื่อลุ้นรับของรางวัล",
    "ข้อเสนอพิเศษนี้มีจำนวนจำกัดและใช้ได้เฉพาะช่วงเวลาที่กำหนดเท่านั้น",
    "ขอบคุณที่เลือกเราเป็นส่วนหนึ่งของวันธรรมดาที่มีความหมายของคุณ",
    "เราพร้อมรับฟังทุกความคิดเห็นเพื่อพัฒนาประสบการณ์ที่ดีกว่าเดิมในครั้งต่อไป",
]
EN = [
    "We source our ingredients from people we trust, every single week.",
    "Our team cares about every step, from the first idea to the last detail.",
    "Regulars tell us the space feels like a calm living room.",
    "Every piece is tested many times before it reaches you.",
    "Small things done with care can turn an ordinary day into a good one.",
    "Order ahead on LINE and pick it up at the branch nearest you.",
    "Members collect points with every purchase and redeem them at any branch.",
    "Our packaging is compostable, so there is less plastic to throw away.",
    "Delivery takes two to three working days in Bangkok and nearby provinces.",
    "Tell us what you think: every comment reaches the product team.",
    "This season's menu is inspired by ingredients from northern Thailand.",
    "We work with small farms so that more of the price goes back to them.",
]
BRANCHES = [
    ("สยาม", "Siam"),
    ("อารีย์", "Ari"),
    ("ทองหล่อ", "Thonglor"),
    ("เอกมัย", "Ekkamai"),
    ("สีลม", "Silom"),
    ("บางนา", "Bang Na"),
    ("ลาดพร้าว", "Lat Phrao"),
    ("เชียงใหม่", "Chiang Mai"),
    ("ภูเก็ต", "Phuket"),
    ("ขอนแก่น", "Khon Kaen"),
    ("หาดใหญ่", "Hat Yai"),
    ("พัทยา", "Pattaya"),
]
QUESTIONS = [
    ("มีขายที่สาขา{b}ไหมคะ", "Is it available at the {b} branch?"),
    ("ถ้าสั่งไปส่งที่{b}ต้องรอกี่วันครับ", "How long does delivery to {b} take?"),
    ("สาขา{b}เปิดกี่โมงคะ", "What time does the {b} branch open?"),
    ("ใช้แต้มสมาชิกที่สาขา{b}ได้ไหมครับ", "Can I use member points at {b}?"),
    ("ลองที่สาขา{b}แล้วชอบมากอยากได้อีกค่ะ", "Tried it at {b} and loved it, want more!"),
    ("ที่สาขา{b}ยังมีโปรอยู่ไหมคะ", "Is the {b} branch still running the offer?"),
]
NAMES = ["Ploy", "Nok", "Beam", "Mint", "Ton", "Fah", "Bank", "Praew", "Arm", "June", "Mew", "Pim"]


def th(rng: random.Random, count: int) -> str:
    """Thai prose: sentences without spaces inside, one space between them."""
    return " ".join(rng.choice(TH) for _ in range(count))


def en(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(EN) for _ in range(count))


def make_comments(rng: random.Random, brands: list[dict[str, Any]], count: int) -> list[dict]:
    """Customer comments and the admin's replies; some re-posted, some answered too briefly."""
    rows: list[dict[str, Any]] = []
    for i in range(count):
        b = brands[rng.randrange(len(brands))]
        emoji = b["must_include"][0]
        if rows and rng.random() < REPOSTED:  # the same comment again, the same answer
            rows.append({**rng.choice(rows[-200:]), "id": f"c{i:07d}"})
            continue
        lang, customer = rng.choice(["th", "th", "en"]), rng.choice(NAMES)
        product_th, product_en = rng.choice(PRODUCTS)
        branch_th, branch_en = rng.choice(BRANCHES)
        question_th, question_en = rng.choice(QUESTIONS)
        if lang == "th":
            comment = f"{product_th}{question_th.format(b=branch_th)} {rng.choice(TH)}"
            reply = f"สวัสดีค่ะคุณ{customer} {rng.choice(TH)} {emoji}"
            short = f"ขอบคุณค่ะ {emoji}"
        else:
            comment = (
                f"{product_en.capitalize()}: {question_en.format(b=branch_en)} {rng.choice(EN)}"
            )
            reply = f"Hi {customer}! {rng.choice(EN)} {emoji}"
            short = f"Thanks! {emoji}"
        rows.append(
            {
                "id": f"c{i:07d}",
                "brand": b["id"],
                "brand_name": b["name"],
                "platform": rng.choice(PLATFORMS),
                "lang": lang,
                "customer": customer,
                "product": product_th if lang == "th" else product_en,
                "comment": comment,
                "reply": short if rng.random() < SHORT_REPLY else reply,
            }
        )
    return rows


RATINGS = [5] * 45 + [4] * 25 + [3] * 12 + [2] * 10 + [1] * 8
REVIEW_FIELDS = [
    "review_id",
    "brand",
    "brand_name",
    "lang",
    "rating",
    "branch",
    "title",
    "text",
    "reply",
    "draft_reply",
]


def make_reviews(rng: random.Random, brands: list[dict[str, Any]], count: int) -> list[dict]:
    """Store reviews as a CSV export: some exported twice, some pasted over and over."""
    rows: list[dict[str, Any]] = []
    for i in range(count):
        if rows and rng.random() < REVIEW_TWICE:
            rows.append({**rows[-1], "review_id": f"r{i:07d}"})
            continue
        b = brands[rng.randrange(len(brands))]
        emoji, lang, rating = b["must_include"][0], rng.choice(["th", "en"]), rng.choice(RATINGS)
        branch = rng.choice(BRANCHES)[0 if lang == "th" else 1]
        product_th, product_en = rng.choice(PRODUCTS)
        if lang == "th":
            text = f"{product_th}ที่สาขา{branch} {th(rng, rng.randint(2, 4))}"
            if rng.random() < REVIEW_SPAM:
                text = th(rng, 80)
            reply = f"ขอบคุณสำหรับรีวิว{rating}ดาวค่ะ {rng.choice(TH)} {emoji}"
            draft = f"ขอโทษค่ะ ร้านเรา{BANNED[0]}แล้ว" if rating <= 2 else ""
        else:
            text = f"The {product_en} at {branch}. {en(rng, rng.randint(1, 3))}"
            if rng.random() < REVIEW_SPAM:
                text = en(rng, 80)
            reply = f"Thank you for the {rating}-star review. {rng.choice(EN)} {emoji}"
            draft = "Sorry. We are still the cheapest in town." if rating <= 2 else ""
        rows.append(
            {
                "review_id": f"r{i:07d}",
                "brand": b["id"],
                "brand_name": b["name"],
                "lang": lang,
                "rating": str(rating),
                "branch": branch,
                "title": product_th if lang == "th" else product_en,
                "text": text,
                "reply": reply,
                "draft_reply": draft,
            }
        )
    return rows


def make_orders(rng: random.Random, brands: list[dict[str, Any]], count: int) -> list[dict]:
    """Orders with one to five items each; an item of quantity 0 was cancelled."""
    rows = []
    for i in range(count):
        b, lang = brands[rng.randrange(len(brands))], rng.choice(["th", "en"])
        items = []
        for j in range(rng.randint(1, 5)):
            product_th, product_en = rng.choice(PRODUCTS)
            items.append(
                {
                    "id": f"i{j + 1}",
                    "product": product_th if lang == "th" else product_en,
                    "qty": 0 if rng.random() < 0.1 else rng.randint(1, 4),
                    "note": rng.choice(TH) if lang == "th" else rng.choice(EN),
                }
            )
        rows.append(
            {
                "id": f"o{i:06d}",
                "brand": b["id"],
                "brand_name": b["name"],
                "emoji": b["must_include"][0],
                "lang": lang,
                "customer": rng.choice(NAMES),
                "channel": rng.choice(["LINE", "website", "Grab", "LINE MAN"]),
                "eta_days": rng.randint(1, 5),
                "items": items,
            }
        )
    return rows


def jsonl_file(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def csv_file(path: Path, rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=REVIEW_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
