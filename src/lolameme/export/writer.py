"""Write a trained run's latest checkpoint as a self-contained directory, and read it back.

::

    DIR/model.safetensors     the weights (hf: GPT2LMHeadModel's names; safetensors: ours)
    DIR/config.json           hf: GPT2Config; safetensors: LanguageModel.config_dict()
    DIR/tokenizer.json        text runs; hf: with <pad> <bos> <sep> <eos> as special tokens
    DIR/tokenizer_config.json, special_tokens_map.json, generation_config.json   (hf)
    DIR/run.json              the run's run.json plus "export": {format, step, run}
    DIR/README.md             the model card

``run.json`` (with its ``export`` key) marks the directory as an export: only such a
directory, or an empty one, is replaced by a new export.
"""

from __future__ import annotations

import json
from pathlib import Path

from lolameme import __version__
from lolameme._io import atomic_directory, atomic_path, atomic_write_json, atomic_write_text
from lolameme.data.card import TITLES
from lolameme.errors import LolamemeError
from lolameme.runs.directory import LoadedRun, load_run, make_codec, read_run
from lolameme.runs.layout import EVAL_JSON, RUN_JSON

FORMATS = ("hf", "safetensors")
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
CARD = "README.md"


class ExportError(LolamemeError):
    """A run cannot be exported in the asked format, or not to the asked directory."""


def is_export(path: str | Path) -> bool:
    """Whether ``path`` is a directory written by :func:`export_run`."""
    meta_path = Path(path) / RUN_JSON
    if not meta_path.is_file():
        return False
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):  # binary, damaged, unreadable
        return False
    return isinstance(meta, dict) and "export" in meta


def _check_target(to: Path) -> None:
    if to.exists() and not to.is_dir():
        raise ExportError(f"{to} exists and is not a directory")
    if to.is_dir() and any(to.iterdir()) and not is_export(to):
        raise ExportError(
            f"{to} is not empty and is not an earlier lolameme export; choose another --to"
        )


def export_run(run_dir: str | Path, to: str | Path, format: str = "hf") -> Path:
    """Export the latest checkpoint of ``run_dir`` to ``to`` in ``format``; returns ``to``.

    Everything is checked (format, pattern, target) before anything is written, and the
    directory appears complete or not at all (an earlier export is replaced whole).
    """
    if format not in FORMATS:
        raise ExportError(f"unknown format '{format}' (valid: {', '.join(FORMATS)})")
    to = Path(to)
    _check_target(to)
    run = load_run(run_dir, device="cpu")
    if format == "hf":
        from lolameme.models.hf import gpt2_problem

        problem = gpt2_problem(run.model)
        if problem is not None:
            raise ExportError(
                f"--format hf needs a model of plain GPT-2 blocks, and "
                f"'{run.meta['config']['model']}' is not one: {problem} "
                "(--format safetensors exports any model)"
            )
    try:
        with atomic_directory(to, overwrite=True) as tmp:
            if format == "hf":
                _write_hf(run, tmp)
            else:
                _write_safetensors(run, tmp)
            meta = dict(run.meta)
            meta["export"] = {
                "format": format,
                "step": run.step,
                "run": str(Path(run.path).resolve()),
                "lolameme_version": __version__,
            }
            atomic_write_json(tmp / RUN_JSON, meta)
            atomic_write_text(tmp / CARD, model_card(run, format))
    except PermissionError:  # its file name is the hidden temporary sibling: name the user's
        raise ExportError(f"permission denied: cannot write {to}") from None
    return to


def _write_safetensors(run: LoadedRun, out: Path) -> None:
    from safetensors.torch import save_model

    with atomic_path(out / WEIGHTS) as tmp:
        save_model(run.model, str(tmp))  # a tied head is stored once and re-tied on load
    atomic_write_json(out / CONFIG, run.model.config_dict())
    if run.format == "text":
        run.codec.tokenizer.save(out / TOKENIZER)  # type: ignore[union-attr]


def _write_hf(run: LoadedRun, out: Path) -> None:
    from safetensors.torch import save_file

    from lolameme.models.hf import gpt2_config, gpt2_state_dict

    ids: dict[str, int] = {}
    if run.format == "text":
        tok = run.codec.tokenizer  # type: ignore[union-attr]
        ids = {"bos_token_id": tok.bos_id, "eos_token_id": tok.eos_id, "pad_token_id": tok.pad_id}
        _write_hf_tokenizer(run, out)
    with atomic_path(out / WEIGHTS) as tmp:
        save_file(gpt2_state_dict(run.model), str(tmp), metadata={"format": "pt"})
    atomic_write_json(out / CONFIG, gpt2_config(run.model, **ids))
    if ids:
        generation = {
            **ids,
            "do_sample": False,  # greedy, as lolameme decodes
            "max_new_tokens": int(run.meta["max_answer_tokens"]),
        }
        atomic_write_json(out / "generation_config.json", generation)


def _write_hf_tokenizer(run: LoadedRun, out: Path) -> None:
    """The run's tokenizer with its four special tokens registered as such.

    Inside lolameme the specials are never parsed from text (the codec adds their ids);
    an HF user writes the prompt as text, ``"<bos>" + program + "<sep>"``, so here they
    are added tokens, matched before the pre-tokenizer: the program in between is
    encoded exactly as lolameme encodes it.
    """
    from tokenizers import AddedToken, Tokenizer

    from lolameme.runs.tokenizer import BOS, EOS, PAD, SEP, SPECIAL_TOKENS, UNK

    tok = run.codec.tokenizer  # type: ignore[union-attr]
    hf = Tokenizer.from_str(tok.hf.to_str())
    hf.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    if [hf.token_to_id(t) for t in SPECIAL_TOKENS] != [
        tok.pad_id,
        tok.bos_id,
        tok.sep_id,
        tok.eos_id,
    ]:
        raise ExportError("the tokenizer's special tokens moved while exporting (a bug)")
    atomic_write_text(out / TOKENIZER, hf.to_str())
    specials = {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "sep_token": SEP}
    if hf.token_to_id(UNK) is not None:  # the character tokenizer's unknown character
        specials["unk_token"] = UNK
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": int(run.meta["max_seq_len"]),
        "clean_up_tokenization_spaces": False,  # keep " ," and friends as the model wrote them
        **specials,
    }
    atomic_write_json(out / "tokenizer_config.json", config)
    atomic_write_json(out / "special_tokens_map.json", specials)


def open_run(path: str | Path, device: str = "auto") -> LoadedRun:
    """A run directory (latest checkpoint) or a ``safetensors`` export, loaded alike:
    what ``lolameme.load_run`` and ``lolameme predict`` read."""
    return load_export(path, device=device) if is_export(path) else load_run(path, device=device)


def load_export(path: str | Path, device: str = "auto") -> LoadedRun:
    """Read a ``safetensors`` export back as a run (what ``lolameme.load_run`` does)."""
    from safetensors.torch import load_model

    from lolameme.runs.directory import model_from_config, resolve_device

    path = Path(path)
    target = resolve_device(device)  # a bad --device fails before anything is read
    meta = read_run(path)
    export = meta.get("export")
    if not (
        isinstance(export, dict)
        and isinstance(export.get("format"), str)
        and isinstance(export.get("step"), int)
    ):
        raise ExportError(
            f"{path / RUN_JSON}: damaged, field 'export' should be an object with "
            "'format' and 'step'"
        )
    if meta["export"]["format"] != "safetensors":
        raise ExportError(
            f"{path} is a '{meta['export']['format']}' export: load it with transformers "
            "(lolameme reads runs and safetensors exports)"
        )
    try:
        # whichever model the config describes: a spec's LanguageModel or a builder's
        model = model_from_config(json.loads((path / CONFIG).read_text()))
        load_model(model, str(path / WEIGHTS), strict=True)
    except (OSError, ValueError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"{path}: damaged export ({first})") from None
    model.to(target).eval()
    codec = make_codec(meta, path)
    return LoadedRun(path, meta, codec, model, int(meta["export"]["step"]), target)


# --- the model card -------------------------------------------------------------------


def _eval_rows(run: LoadedRun) -> list[str]:
    path = Path(run.path) / EVAL_JSON
    if not path.is_file():
        return ["Not evaluated yet: `lolameme eval RUN` writes `eval.json`, then export again."]
    try:
        report = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("splits", {}), dict):
        return [f"`{EVAL_JSON}` is damaged: run `lolameme eval RUN` again, then export again."]
    lines = [
        f"Exact match per split (`lolameme eval`, checkpoint step {report.get('step')}"
        + (", an older checkpoint than the one exported" if report.get("step") != run.step else "")
        + "):",
        "",
        "| split | n | EM | loss |",
        "|---|---:|---:|---:|",
    ]
    for split, s in report.get("splits", {}).items():
        em = "-" if s.get("em") is None else f"{s['em']:.3f}"
        loss = "-" if s.get("loss") is None else f"{s['loss']:.4f}"
        limit = " (first items only)" if s.get("limit") else ""
        lines.append(f"| `{split}`{limit} | {s.get('n')} | {em} | {loss} |")
    return lines


def _usage(run: LoadedRun, format: str) -> list[str]:
    if format == "safetensors":
        return [
            "```python",
            "import lolameme",
            'run = lolameme.load_run("path/to/this/directory")',
            'run.predict(["a = 3;print(a)"])',
            "```",
        ]
    if run.format != "text":
        return [
            "```python",
            "from transformers import GPT2LMHeadModel",
            'model = GPT2LMHeadModel.from_pretrained("path/to/this/directory")',
            "```",
            "",
            "The run was trained on token ids (no tokenizer): feed `inputs` rows as they are.",
        ]
    return [
        "The prompt is `<bos>` + program + `<sep>`; the answer runs up to `<eos>` (greedy).",
        "",
        "```python",
        "from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast",
        'path = "path/to/this/directory"',
        "model = GPT2LMHeadModel.from_pretrained(path)",
        "tokenizer = PreTrainedTokenizerFast.from_pretrained(path)",
        'ids = tokenizer("<bos>" + "a = 3;print(a)" + "<sep>", return_tensors="pt").input_ids',
        "out = model.generate(ids, do_sample=False)  # generation_config.json: eos, limits",
        "print(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True))",
        "```",
    ]


def model_card(run: LoadedRun, format: str) -> str:
    """The README of an export: model, data set, training config, EM, usage."""
    import yaml

    meta, config = run.meta, run.meta["config"]
    data = meta["data"]
    task = str(data.get("task"))
    front = {
        "license": "mit",
        "library_name": "transformers" if format == "hf" else "lolameme",
        "pipeline_tag": "text-generation",
        "tags": list(dict.fromkeys(["lolameme", "synthetic", task, config["model"]])),
    }
    header = yaml.safe_dump(front, sort_keys=False)
    settings = [f"| `{k}` | `{json.dumps(v)}` |" for k, v in sorted(config.items())]
    body = [
        f"# {config['model']} ({config['scale']}) trained on {TITLES.get(task, task)}",
        "",
        f"Exported by lolameme {__version__} from a run at step {run.step} "
        f"(`lolameme export --format {format}`).",
        "",
        "## Model",
        "",
        f"- spec `{config['model']}` at scale `{config['scale']}`: "
        f"{meta.get('num_parameters', 0):,} parameters, {meta['max_seq_len']} positions, "
        f"vocabulary {meta['vocab_size']}"
        + (f" ({meta['tokenizer']} tokenizer)" if meta.get("tokenizer") else ""),
        "",
        "## Data set",
        "",
        f"- task `{data.get('task')}`, format `{data.get('format')}`, directory "
        f"`{Path(str(data.get('path'))).name}`, fingerprint `{data.get('fingerprint')}` "
        "(the data set's README.md card quotes the same fingerprint);",
        f"- splits: {', '.join(f'`{s}`' for s in data.get('splits', []))}.",
        "",
        "## Results",
        "",
        *_eval_rows(run),
        "",
        "## Use",
        "",
        *_usage(run, format),
        "",
        "## Training config",
        "",
        "| key | value |",
        "|---|---|",
        *settings,
        "",
    ]
    return f"---\n{header}---\n\n" + "\n".join(body)
