"""The four multiple-choice YAMLs render rows exactly as lm-eval's own tasks do (doc_to_text / doc_to_choice /
target), on real XCOPA rows and on local rows shaped like the hub's; bad prompt sections are one-line errors."""

import json
from importlib import resources
from pathlib import Path

import pytest

from xlpt.schema import load_yaml
from xlpt.tasks.families.multiple_choice.prompt import parse_prompt

pytest.importorskip("lm_eval")


def yaml_prompt(name: str):
    text = resources.files("xlpt.tasks").joinpath("builtin", f"{name}.yaml").read_text(encoding="utf-8")
    tree = load_yaml(text, name)
    return parse_prompt(tree["prompt"], tuple(tree["fields"]), tuple(tree["labels"])), tree


def lm_eval_module(path: str):
    import importlib.util

    import lm_eval.tasks

    file = Path(lm_eval.tasks.__file__).parent / path
    spec = importlib.util.spec_from_file_location(path.replace("/", "_")[:-3], file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lm_eval_requests(context: str, choices: list[str], delimiter: str = " ") -> list[tuple[str, str]]:
    return [(context, delimiter + choice) for choice in choices]  # ConfigurableTask.construct_requests


@pytest.mark.parametrize("lang", ["et", "it", "th", "zh", "sw"])
def test_xcopa_equals_lm_eval_on_real_rows(data_dir, lang):
    prompt, _ = yaml_prompt("xcopa")
    utils = lm_eval_module("xcopa/utils.py")
    lines = (data_dir / "xcopa" / lang / "xcopa-github" / "val.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines[:20]:
        doc = json.loads(line)
        rendered = prompt.render({k: doc[k] for k in ("premise", "choice1", "choice2", "question")}, lang)
        context = getattr(utils, f"doc_to_text_{lang}")(doc)
        choices = utils.doc_to_choice(doc)
        assert list(zip(rendered.contexts, rendered.continuations)) == lm_eval_requests(context, choices)
        assert rendered.norm_texts == choices  # what acc_norm divides by


def test_english_copa_equals_lm_evals_copa(data_dir):
    prompt, _ = yaml_prompt("xcopa")
    utils = lm_eval_module("super_glue/copa/utils.py")
    for line in (data_dir / "xcopa" / "en" / "copa-superglue" / "val.jsonl").read_text().splitlines()[:20]:
        doc = json.loads(line)
        rendered = prompt.render({k: doc[k] for k in ("premise", "choice1", "choice2", "question")}, "en")
        choices = utils.doc_to_choice(doc)
        assert list(zip(rendered.contexts, rendered.continuations)) == lm_eval_requests(utils.doc_to_text(doc), choices)
        assert rendered.norm_texts == choices


STORY = {"input_sentence_1": "Rick grew up in a troubled household.", "input_sentence_2": "He never found good support.",
         "input_sentence_3": "He joined a gang.", "input_sentence_4": "He got shot.",
         "sentence_quiz1": "He is happy now.", "sentence_quiz2": "He turned his life around.", "answer_right_ending": 2}
WINO = {"sentence": "The trophy doesn't fit into the suitcase because the _ is too large.", "option1": "trophy",
        "option2": "suitcase", "answer": "1"}
BELE = {"flores_passage": "Make sure your hand is as relaxed as possible.", "question": " What is advised? ",
        "mc_answer1": "Relax", "mc_answer2": "Tense", "mc_answer3": "Strike", "mc_answer4": "Rest", "correct_answer_num": "1"}


def jinja(template: str, doc: dict) -> str:
    from lm_eval.utils import apply_template

    return apply_template(template, doc)


def test_xstorycloze_equals_lm_eval():
    from lm_eval.tasks._yaml_loader import load_yaml as lm_load

    import lm_eval.tasks

    cfg = lm_load(Path(lm_eval.tasks.__file__).parent / "xstorycloze" / "default_ar.yaml")
    prompt, tree = yaml_prompt("xstorycloze")
    rendered = prompt.render({k: STORY[k] for k in tree["fields"]}, "en")
    context, choices = jinja(cfg["doc_to_text"], STORY), eval(jinja(cfg["doc_to_choice"], STORY))  # noqa: S307
    assert list(zip(rendered.contexts, rendered.continuations)) == lm_eval_requests(context, choices)
    assert int(jinja(cfg["doc_to_target"], STORY)) == tree["labels"].index(str(STORY["answer_right_ending"]))


def test_xwinograd_equals_lm_evals_multiple_input_mode():
    utils = lm_eval_module("xwinograd/utils.py")
    prompt, tree = yaml_prompt("xwinograd")
    rendered = prompt.render({k: WINO[k] for k in tree["fields"]}, "en")
    contexts, target = utils.doc_to_choice(WINO), utils.doc_to_target(WINO)
    assert list(zip(rendered.contexts, rendered.continuations)) == [(c, " " + target) for c in contexts]
    assert rendered.norm_texts == contexts  # lm-eval's acc_norm divides by doc_to_choice: the contexts here
    assert utils.doc_to_text(WINO) == tree["labels"].index(WINO["answer"])


def test_belebele_equals_lm_eval():
    from lm_eval.tasks._yaml_loader import load_yaml as lm_load

    import lm_eval.tasks

    cfg = lm_load(Path(lm_eval.tasks.__file__).parent / "belebele" / "_default_template_yaml")
    prompt, tree = yaml_prompt("belebele")
    rendered = prompt.render({k: BELE[k] for k in tree["fields"]}, "eng_Latn")
    assert list(zip(rendered.contexts, rendered.continuations)) == lm_eval_requests(
        jinja(cfg["doc_to_text"], BELE), cfg["doc_to_choice"])
    assert int(jinja(cfg["doc_to_target"], BELE)) == tree["labels"].index(BELE["correct_answer_num"])


@pytest.mark.parametrize("change, message", [
    ({"choices": ["{choice1}"]}, "1 choices for 2 labels"),
    ({"context": "{premise} {nope}"}, "{nope}"),
    ({"transforms": {"premise": ["shout"]}}, "prompt.transforms.premise.0"),
    ({"derive": {"connector": {"lookup": "question"}}}, "lookup needs `values`"),
    ({"context": ["{premise}", "{premise}"]}, "give one context and a list of 2 choices"),
])
def test_bad_prompt_sections_are_one_line(change, message):
    _, tree = yaml_prompt("xcopa")
    with pytest.raises(ValueError) as err:
        parse_prompt({**tree["prompt"], **change}, tuple(tree["fields"]), tuple(tree["labels"]))
    assert message in str(err.value) and "\n" not in str(err.value)


def lm_eval_pairs(name: str, doc: dict) -> list[tuple[str, str]]:
    """(context, continuation) requests lm-eval's own task makes for `doc`."""
    from lm_eval.tasks._yaml_loader import load_yaml as lm_load

    import lm_eval.tasks

    if name == "xwinograd":
        utils = lm_eval_module("xwinograd/utils.py")
        return [(c, " " + utils.doc_to_target(doc)) for c in utils.doc_to_choice(doc)]
    path = {"xstorycloze": "xstorycloze/default_ar.yaml", "belebele": "belebele/_default_template_yaml"}[name]
    cfg = lm_load(Path(lm_eval.tasks.__file__).parent / path)
    choices = cfg["doc_to_choice"]
    return lm_eval_requests(jinja(cfg["doc_to_text"], doc),
                            eval(jinja(choices, doc)) if isinstance(choices, str) else choices)  # noqa: S307


@pytest.mark.parametrize("name, row, lang, label", [
    ("xstorycloze", {**STORY, "story_id": "s-7"}, "en", "2"),   # int answer 2 names label "2" (not index 2)
    ("xwinograd", WINO, "fr", "1"),
    ("belebele", BELE, "eng_Latn", "1"),
])
def test_hub_and_local_rows_become_lm_evals_prompts(tmp_path, name, row, lang, label):
    """The boundary: a hub row (data/hub.rows_to_examples) and the same row in a local file at the YAML's
    data.path (data/loading.load_split) give the same example, and the family renders it as lm-eval does."""
    from xlpt.data.hub import rows_to_examples
    from xlpt.data.loading import load_split
    from xlpt.tasks import get_task
    from xlpt.tasks.families.multiple_choice import task_prompt

    spec = get_task(name)
    (hub,) = rows_to_examples(spec, lang, "test", [row])
    path = tmp_path / spec.data.path.format(lang=lang, split="test")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (local,) = load_split(spec, lang, "test", tmp_path).examples
    assert dict(hub.fields) == dict(local.fields) == {k: row[k] for k in spec.example_fields}
    assert hub.label == local.label == label
    if name == "xstorycloze":
        assert hub.id == local.id == "s-7"  # columns: id: story_id
    rendered = task_prompt(spec).render(dict(local.fields), lang, local.id)
    assert list(zip(rendered.contexts, rendered.continuations)) == lm_eval_pairs(name, row)
