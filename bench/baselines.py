"""What one-off generator scripts do, for the records of the bench project: the baselines.

    python bench/baselines.py naive PROJECT OUT      str.format, a list of dicts, shuffle, slice
    python bench/baselines.py datasets PROJECT OUT   the same rows through Hugging Face datasets
    python bench/baselines.py naive-realistic PROJECT OUT
                                                     the naive script for bench/realistic.py's
                                                     project (bench/naive_realistic.py)

Each reads the project's YAML (and data files) and writes train/val/test JSONL into OUT.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ASKS = ["เขียนโพสต์", "ช่วยร่างโพสต์", "Write a post", "Draft a post"]
INSTRUCTION = "{ask} {context[vars][label_th]} สำหรับ {brand[name]}: {variant[topic_th]}"
INPUT = (
    "Brand: {brand[name]}\n"
    "Tagline: {brand[tagline]}\n"
    "Context: {context[name]} ({context[vars][label_en]})\n"
    "Topic: {variant[topic_en]}"
)
OUTPUT = (
    "{variant[hook_th]} {brand[vars][emoji]}\n"
    "{brand[vars][story_th]}\n"
    "{context[vars][pitch_th]} {variant[detail_th]}\n"
    "{variant[detail_en]}\n"
    "{brand[vars][hashtag]} #{context[id]} #{variant[id]}"
)


def load(project: Path) -> tuple[list[Any], list[Any], list[Any], int]:
    def read(path: Path) -> Any:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)

    brands = [read(p) for p in sorted((project / "brands").glob("*.yaml"))]
    contexts = read(project / "specs" / "contexts.yaml")["contexts"]
    dataset = read(project / "specs" / "dataset.yaml")
    return brands, contexts, dataset["collections"]["variants"], dataset["seed"]


def rows(project: Path) -> Iterator[dict[str, Any]]:
    brands, contexts, variants, seed = load(project)
    rng = random.Random(seed)
    for brand in brands:
        for context in contexts:
            for variant in variants:
                yield {
                    "instruction": INSTRUCTION.format(
                        ask=rng.choice(ASKS), brand=brand, context=context, variant=variant
                    ),
                    "input": INPUT.format(brand=brand, context=context, variant=variant),
                    "output": OUTPUT.format(brand=brand, context=context, variant=variant),
                    "metadata": {
                        "brand": brand["id"],
                        "context": context["id"],
                        "variant": variant["id"],
                        "platform": variant["platform"],
                    },
                }


def naive(project: Path, out: Path) -> int:
    return shuffle_and_write(list(rows(project)), out)


def shuffle_and_write(records: list[dict[str, Any]], out: Path) -> int:
    """What every one-off script ends with: shuffle, slice 80/10/10, json.dumps each line."""
    random.Random(0).shuffle(records)
    n = len(records)
    cut_train, cut_val = n * 8 // 10, n * 9 // 10
    parts = {
        "train": records[:cut_train],
        "val": records[cut_train:cut_val],
        "test": records[cut_val:],
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for record in part:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return n


def datasets(project: Path, out: Path) -> int:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ["HF_DATASETS_CACHE"] = str(out / "cache")
    import datasets as hf

    hf.disable_progress_bars()
    hf.logging.set_verbosity_error()
    data = hf.Dataset.from_generator(
        rows, gen_kwargs={"project": project}, cache_dir=str(out / "cache")
    )
    first = data.train_test_split(test_size=0.2, seed=0)
    second = first["test"].train_test_split(test_size=0.5, seed=0)
    parts = {"train": first["train"], "val": second["train"], "test": second["test"]}
    for name, part in parts.items():
        part.to_json(str(out / f"{name}.jsonl"), force_ascii=False)
    return len(data)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("naive", "datasets", "naive-realistic"):
        print(__doc__, file=sys.stderr)
        return 2
    what, project, out = argv[0], Path(argv[1]), Path(argv[2])
    if what == "naive-realistic":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import naive_realistic

        count = shuffle_and_write(naive_realistic.rows(project), out)
    else:
        count = naive(project, out) if what == "naive" else datasets(project, out)
    print(f"{what}: wrote {count} records into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
