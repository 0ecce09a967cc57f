# ruff: noqa: E501
# (the YAML lines are as long as a spec author writes them)
"""The task files of the realistic bench project (bench/realistic.py), as YAML texts.

Shaped like specs/tasks/ of the shipped example: a system prompt per task, picks of phrasings,
`when` filters on languages and ratings, Jinja branches, `bullets` and `join`, fields of brands
and of data-file rows as sources, a `sample`, rejected answers. SAMPLE is replaced by the
number of order items the follow-up rule keeps. bench/baselines.py renders the same texts
with str.format.
"""

from __future__ import annotations

SYSTEM = (
    'system: "You write marketing copy for {{ brand.name }} ({{ brand.tagline }}). '
    'Voice: {{ brand.voice.style }}"\n'
)

CAPTIONS = (
    """\
task: caption_generation
description: Social captions in the brand's voice, in Thai or English.
"""
    + SYSTEM
    + """\
defaults:
  platform: instagram
  quality: synthesized
rules:
  - id: real_captions_th
    each: {brand: brands, caption: brand.examples.caption.good}
    when: "caption.lang == 'th'"
    pick:
      ask: ["เขียน caption", "ช่วยเขียน caption", "ร่าง caption", "ขอ caption"]
    instruction: "{{ ask }} Instagram สำหรับ {{ brand.name }} ใช้ tone: {{ brand.tone | join(', ') }}"
    input: |
      Brand: {{ brand.name }}
      Tagline: {{ brand.tagline }}
      หัวข้อโพสต์: {{ caption.topic }}
      แฮชแท็กหลัก: {{ brand.voice.hashtags | join(' ') }}
    output: "{{ caption.text }}"
    metadata: {quality: good, lang: th}

  - id: real_captions_en
    each: {brand: brands, caption: brand.examples.caption.good}
    when: "caption.lang == 'en'"
    pick:
      ask: ["Write an Instagram caption", "Draft an Instagram caption", "Create an Instagram caption"]
    instruction: "{{ ask }} for {{ brand.name }}. Tone: {{ brand.tone | join(', ') }}."
    input: |
      Brand: {{ brand.name }}
      Tagline: {{ brand.tagline }}
      Topic: {{ caption.topic }}
      Core hashtags: {{ brand.voice.hashtags | join(' ') }}
    output: "{{ caption.text }}"
    metadata: {quality: good, lang: en}

  - id: caption_pairs
    each: {brand: brands, caption: brand.examples.caption.bad}
    instruction: "Write a caption for {{ brand.name }} about: {{ caption.topic }}"
    input: "Tone: {{ brand.tone | join(', ') }}"
    output: "{{ caption.rewrite }}"
    rejected: "{{ caption.text }}"
    metadata: {quality: good, lang: "{{ caption.lang }}"}

  - id: campaign_instagram
    each: {brand: brands, context: contexts, lang: languages}
    pick:
      ask_th: ["เขียน caption Instagram", "ช่วยเขียน caption Instagram", "ร่าง caption Instagram"]
      ask_en: ["Write an Instagram caption", "Draft an Instagram caption", "Create an Instagram caption"]
    instruction: |
      {% if lang == 'th' %}
      {{ ask_th }} สำหรับ{{ context.vars.label.th }}ของ {{ brand.name }} ใช้ tone: {{ brand.tone | join(', ') }}
      {% else %}
      {{ ask_en }} for {{ brand.name }}'s {{ context.vars.label.en }}. Tone: {{ brand.tone | join(', ') }}.
      {% endif %}
    input: |
      {% set camp = brand.vars.campaigns[context.vars.kind] %}
      Brand: {{ brand.name }}
      Context: {{ context.name }}
      {{ 'รายละเอียด' if lang == 'th' else 'Details' }}:
      {{ camp[lang].facts | bullets }}
    output: |
      {% set camp = brand.vars.campaigns[context.vars.kind] %}
      {% set c = camp[lang] %}
      {{ c.hook }} {{ brand.voice.emoji[0] }}
      {{ c.body }}
      {{ c.cta }}

      {{ brand.voice.hashtags | join(' ') }} {{ camp.hashtag }}
    metadata: {lang: "{{ lang }}"}

  - id: campaign_tiktok
    each: {brand: brands, context: contexts, lang: languages}
    pick:
      ask_th: ["เขียน caption TikTok สั้น ๆ", "ขอ caption TikTok แบบสั้น"]
      ask_en: ["Write a short TikTok caption", "Give me a punchy TikTok caption"]
    instruction: "{{ ask_th if lang == 'th' else ask_en }}: {{ brand.name }}, {{ context.vars.label[lang] }}"
    input: "{{ context.vars.background_th if lang == 'th' else context.description }}"
    output: |
      {% set camp = brand.vars.campaigns[context.vars.kind] %}
      {{ camp[lang].tiktok }} {{ brand.voice.emoji[0] }}
      {{ brand.voice.hashtags[0] }} {{ camp.hashtag }}
    metadata: {platform: tiktok, lang: "{{ lang }}"}

  - id: product_spotlight
    each: {brand: brands, product: brand.vars.products, lang: languages}
    pick:
      ask_th: ["เขียน caption แนะนำสินค้า", "ช่วยเขียน caption โปรโมตสินค้า"]
      ask_en: ["Write a product spotlight caption for", "Write an Instagram caption featuring"]
    instruction: |
      {% if lang == 'th' %}
      {{ ask_th }} {{ product.name_th }} ของ {{ brand.name }}
      {% else %}
      {{ ask_en }} {{ brand.name }}'s {{ product.name }}.
      {% endif %}
    input: |
      Product: {{ product.name }}
      {{ product.facts[lang] | bullets }}
    output: "{{ product.caption[lang] }}"
    metadata: {quality: good, lang: "{{ lang }}"}
"""
)

BRIEFS = (
    """\
task: brief_generation
description: A campaign brief for a brand, a context and a language.
"""
    + SYSTEM
    + """\
defaults:
  platform: null
  quality: synthesized
rules:
  - id: campaign_brief
    each: {brand: brands, context: contexts, lang: languages}
    pick:
      ask_th: ["เขียน campaign brief", "ร่าง campaign brief", "จัดทำ campaign brief"]
      ask_en: ["Write a campaign brief", "Draft a campaign brief", "Prepare a campaign brief"]
    instruction: |
      {% if lang == 'th' %}
      {{ ask_th }} สำหรับ{{ context.vars.label.th }}ของ {{ brand.name }} ให้ครอบคลุมวัตถุประสงค์ insight ชิ้นงาน และ KPI
      {% else %}
      {{ ask_en }} for {{ brand.name }}'s {{ context.vars.label.en }}: objective, insight, deliverables and KPIs.
      {% endif %}
    input: |
      Brand: {{ brand.name }}
      Tone: {{ brand.tone | join(', ') }}
      Context: {{ context.name }}
      {{ context.vars.background_th }}
    output: |
      {% set camp = brand.vars.campaigns[context.vars.kind] %}
      {% set c = camp[lang] %}
      {% set loc = brand.vars.locale[lang] %}
      {{ brand.voice.emoji[0] }} Campaign Brief: {{ brand.name }} | {{ context.vars.label[lang] }}

      {{ 'วัตถุประสงค์' if lang == 'th' else 'Objective' }}
      {{ c.objective }}

      {{ 'กลุ่มเป้าหมาย' if lang == 'th' else 'Audience' }}
      {{ loc.audience }}

      Insight
      {{ c.insight }}

      Key message
      {{ c.key_message }}

      {{ 'ชิ้นงาน' if lang == 'th' else 'Deliverables' }}
      {% for p in brand.platforms %}
      - {{ p }}: {{ context.vars.deliverables[p][lang] }}
      {% endfor %}

      KPI
      {{ context.vars.kpis[lang] | bullets }}

      {{ context.vars.timeline[lang] }}
      - {{ loc.avoid_note }} {{ brand.voice.hashtags | join(' ') }} {{ camp.hashtag }}
    metadata:
      platform: "{{ brand.platforms | join('/') }}"
      lang: "{{ lang }}"
"""
)

CARE = """\
task: customer_care
description: Replies to customers' comments and reviews, from the brands' real exports.
defaults:
  platform: null
  quality: good
limits:
  output: {min: 20}
rules:
  - id: comment_reply_th
    each: {comment: {file: data/comments.jsonl}}
    when: "comment.lang == 'th'"
    instruction: "ตอบคอมเมนต์นี้ในฐานะแอดมินของ {{ comment.brand_name }}"
    input: "คุณ{{ comment.customer }} ({{ comment.platform }}): {{ comment.comment }}"
    output: "{{ comment.reply }}"
    metadata: {brand: "{{ comment.brand }}", platform: "{{ comment.platform }}", lang: th}

  - id: comment_reply_en
    each: {comment: {file: data/comments.jsonl}}
    when: "comment.lang == 'en'"
    instruction: "Reply to this comment as {{ comment.brand_name }}'s social media team."
    input: "{{ comment.customer }} ({{ comment.platform }}): {{ comment.comment }}"
    output: "{{ comment.reply }}"
    metadata: {brand: "{{ comment.brand }}", platform: "{{ comment.platform }}", lang: en}

  - id: review_thanks
    each: {review: {file: data/reviews.csv}}
    when: "review.rating | int >= 4"
    instruction: "Answer this {{ review.rating }}-star review for {{ review.brand_name }} ({{ review.branch }})."
    input: |
      {{ review.title }}
      {{ review.text }}
    output: "{{ review.reply }}"
    metadata: {brand: "{{ review.brand }}", lang: "{{ review.lang }}"}

  - id: review_apology
    each: {review: {file: data/reviews.csv}}
    when: "review.rating | int <= 3"
    instruction: "Answer this {{ review.rating }}-star review for {{ review.brand_name }} ({{ review.branch }}) and make it right."
    input: |
      {{ review.title }}
      {{ review.text }}
    output: "{{ review.reply }}"
    rejected: "{{ review.draft_reply }}"
    metadata: {brand: "{{ review.brand }}", lang: "{{ review.lang }}"}
"""

ORDERS = """\
task: order_messages
description: A follow-up message for each item of an order.
defaults:
  platform: null
  quality: synthesized
rules:
  - id: order_followup
    each: {order: {file: data/orders.jsonl}, item: order.items}
    when: "item.qty > 0"
    sample: SAMPLE
    pick:
      opener_th: ["ขอบคุณที่สั่ง", "ได้รับคำสั่งซื้อ"]
      opener_en: ["Thank you for ordering", "We have your order of"]
    instruction: "Write {{ order.brand_name }}'s follow-up for order {{ keys.order }} ({{ order.channel }}), item {{ item.product }}."
    input: "{{ order.customer }}: {{ item.qty }} × {{ item.product }}, {{ order.eta_days }} days"
    output: |
      {% if order.lang == 'th' %}
      {{ opener_th }} {{ item.product }} {{ item.qty }} ชิ้นค่ะคุณ{{ order.customer }} {{ order.emoji }}
      จะถึงภายใน {{ order.eta_days }} วัน {{ item.note }}
      {% else %}
      {{ opener_en }} {{ item.qty }} × {{ item.product }}, {{ order.customer }} {{ order.emoji }}
      It arrives within {{ order.eta_days }} days. {{ item.note }}
      {% endif %}
    metadata: {brand: "{{ order.brand }}", platform: "{{ order.channel }}", lang: "{{ order.lang }}"}
"""

VOICE = (
    """\
task: brand_voice_adaptation
description: Rewrite or transcreate text so that it sounds like the brand.
"""
    + SYSTEM
    + """\
defaults:
  platform: instagram
  quality: good
rules:
  - id: message_rewrite
    each: {brand: brands, message: brand.examples.message.good}
    pick:
      ask: ["แปลงข้อความนี้ให้เข้ากับ brand voice ของ", "Rewrite this message in the voice of"]
    instruction: "{{ ask }} {{ brand.name }}"
    input: "{{ message.text }}"
    output: "{{ message.rewrite }}"
    metadata: {lang: "{{ message.lang }}"}

  - id: transcreation
    each: {brand: brands, pair: brand.vars.localizations}
    instruction: "{{ 'แปลเป็นภาษาไทยแบบ transcreation' if pair.source == 'en' else 'Transcreate into English' }} for {{ brand.name }}"
    input: "{{ pair.en if pair.source == 'en' else pair.th }}"
    output: "{{ pair.th if pair.source == 'en' else pair.en }}"
    metadata: {lang: "{{ 'th' if pair.source == 'en' else 'en' }}"}
"""
)

STRATEGY = (
    """\
task: strategy_generation
description: A content strategy per goal, and a voice guide, per brand and language.
"""
    + SYSTEM
    + """\
defaults:
  platform: null
  quality: synthesized
collections:
  goals: [awareness, engagement, conversion, loyalty, retention]
rules:
  - id: content_strategy
    each: {brand: brands, goal: goals, lang: languages}
    pick:
      ask_th: ["วางแผน content strategy", "ช่วยวาง content strategy"]
      ask_en: ["Create a content strategy", "Plan a social content strategy"]
    instruction: "{{ ask_th if lang == 'th' else ask_en }}: {{ brand.name }}, {{ goal }}"
    input: "Audience: {{ brand.vars.locale[lang].audience }}"
    output: |
      {% set loc = brand.vars.locale[lang] %}
      {% set s = brand.vars.strategy[goal][lang] %}
      {{ brand.voice.emoji[0] }} Content Strategy: {{ brand.name }} | {{ goal }}
      {{ s.focus }}

      Content pillars
      {{ loc.pillars | numbered }}

      {% for p in brand.platforms %}
      - {{ p }}: {{ loc.cadence[p] }}
      {% endfor %}

      {{ s.ideas | numbered }}
    metadata:
      platform: "{{ brand.platforms | join('/') }}"
      lang: "{{ lang }}"

  - id: voice_guide
    each: {brand: brands, lang: languages}
    instruction: "{{ 'สรุป brand voice guide ของ' if lang == 'th' else 'Write the brand voice guide of' }} {{ brand.name }}"
    input: "Tone: {{ brand.tone | join(', ') }}"
    output: |
      {% set loc = brand.vars.locale[lang] %}
      {{ brand.voice.emoji[0] }} Brand Voice Guide: {{ brand.name }}
      {{ brand.tagline }} ({{ loc.tone }})
      {{ loc.key_messages | bullets }}
      {{ brand.voice.phrases | join(' / ') }}
      - {{ loc.avoid_note }}
    metadata: {lang: "{{ lang }}"}
"""
)

TASKS = {
    "caption_generation": CAPTIONS,
    "brief_generation": BRIEFS,
    "customer_care": CARE,
    "order_messages": ORDERS,
    "brand_voice_adaptation": VOICE,
    "strategy_generation": STRATEGY,
}
