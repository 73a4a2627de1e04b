"""Model lineage: which pretraining run (family) every model was fine-tuned or merged from, and by whom.

Most models in the data are fine-tunes or merges of a few base models and inherit their base's token
count, so what a fine-tune scores depends first on its base. This module gives every row a ``family``
(the root model's id: one id per pretraining run), the ``family_source`` saying how it was found,
``family_root_in_data``, ``is_root``, the family's ``base_developer`` (who pretrained it; a derivative of an
unknown base is never its releaser's pretraining run), whether the model was pruned or upscaled from its base
(``size_change``) and whether it is a duplicate upload of another row (``duplicate_of``). It reads only tables
shipped in ``data/``: an extract of the Open LLM Leaderboard v2 contents (``leaderboard_lineage.csv``, built by
``make data``), hand-curated facts with their sources (``lineage_curated.csv``), the name tags of base-model
generations (``lineage_tags.csv``) and the name patterns of pruned and upscaled models
(``lineage_size_changes.csv``). The rules, in order of precedence, are documented in ``data/README.md``.
"""


from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_sauce.data.lineage_tables import (
    CONTEXT_TOKEN,
    FAMILY_SOURCES,
    LINEAGE_COLUMNS,
    UNKNOWN_BASE,
    MAX_CHAIN,
    MERGE_SUFFIX,
    PRETRAINED,
    REMOVED,
    SIZE_TOLERANCE,
    TOKENS_TOLERANCE,
    USER_COLUMNS,
    VARIANT_TOKENS,
    LineageTables,
)
from bayes_sauce.data.schema import other_groups

def _name_part(name: str) -> str:
    """The model name after the organisation, lower case, with '_' and spaces as '-' (what tags match)."""
    return re.sub(r"[_\s]+", "-", name.split("/", 1)[-1].lower())


def name_tag(name: str, tags: list[tuple[str, re.Pattern[str]]]) -> str | None:
    """The base-model generation a model's name points to (e.g. 'llama-3.1'), or None."""
    part = _name_part(name)
    return next((tag for tag, pattern in tags if pattern.search(part)), None)


def variant_key(name: str) -> str:
    """A repo name without the post-training and context-length tokens one organisation adds to a base."""
    org, _, model = name.lower().rpartition("/")
    tokens = [t for t in re.split(r"[-_\s]+", model) if t not in VARIANT_TOKENS and not CONTEXT_TOKEN.fullmatch(t)]
    return f"{org}/{'-'.join(tokens)}"


def repo_of(model_id: str) -> str:
    """The Hugging Face repo a model id names ('org__name' -> 'org/name'; a plain name stays as it is)."""
    return model_id.replace("__", "/", 1)


def _relative(a: float, b: float) -> float:
    """|a - b| / b, infinite where b is not a positive number."""
    return abs(a - b) / b if b > 0 and np.isfinite(a) else float("inf")


# --------------------------------------------------------------------------------------------- derivation


@dataclass
class _Walk:
    """Where following a model's lineage ended: the last name, the weakest step and why it stopped."""

    name: str
    source: str | None
    state: str  # root | unknown (a name the leaderboard lacks) | infer | infer_or_root | missing (row not on it)


def _weaker(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if FAMILY_SOURCES.index(a) >= FAMILY_SOURCES.index(b) else b


@dataclass(frozen=True)
class _Node:
    """One leaderboard model (by canonical repo name) as lineage sees it."""

    declared: str  # canonical name of the declared base; the model itself when it declares none
    unreadable: bool  # the leaderboard could not read its base ("Removed")
    base_is_merge: bool
    official: bool
    type: str
    params: float


class _Resolver:
    """Follows lineage from one name to its root through the leaderboard extract and the curated facts."""

    def __init__(self, tables: LineageTables):
        self.tags = tables.tags
        cur = tables.curated
        self.alias = {n.lower(): t.lower() for n, r, t in zip(cur["name"], cur["relation"], cur["target"])
                      if r == "alias"}
        self.curated_base = {self.canon(n): self.canon(t) for n, r, t in zip(cur["name"], cur["relation"], cur["target"])
                             if r == "base"}
        self.curated_developer = {n.lower(): t for n, r, t in zip(cur["name"], cur["relation"], cur["target"])
                                  if r == "developer"}
        # Display spelling of every name we may print: curated names, declared bases, then repos (which win).
        self.spelling: dict[str, str] = {}
        for name in list(cur["target"]) + list(cur["name"]):
            self.spelling.setdefault(self.canon(name), name)
        lb = tables.leaderboard
        names = [self.canon(r) for r in lb["repo"]]
        for base in lb["base_model"]:
            if base and base != REMOVED:
                self.spelling.setdefault(self.canon(base), base)
        for repo, name in zip(lb["repo"], names):
            if repo.lower() == name:
                self.spelling[name] = repo
        self.by_eval = dict(zip(lb["eval_name"], names))
        # One node per repo: a row under the repo's current name before one under an old name, then by result id.
        rows = sorted(zip(lb["repo"], names, lb["eval_name"], lb["base_model"], lb["base_is_merge"], lb["official"],
                          lb["type"], lb["params_b"]), key=lambda r: (r[0].lower() != r[1], r[2]))
        self.nodes: dict[str, _Node] = {}
        for _, name, _, base, merge, official, kind, params in rows:
            if name not in self.nodes:
                self.nodes[name] = _Node(
                    declared=self.canon(base) if base and base != REMOVED else name, unreadable=base == REMOVED,
                    base_is_merge=bool(merge), official=bool(official), type=str(kind), params=float(params))
        self.variant_of = self._variants()

    def canon(self, name: str) -> str:
        """Lower-case repo name with renamed repos mapped to their current name."""
        low = name.strip().lower()
        return self.alias.get(low, low)

    def _variants(self) -> dict[str, str]:
        """Self-declared roots of one organisation that are post-training or context variants of one base.

        Models whose names agree once those tokens are dropped form a group; its representative is the one named
        exactly so (else a pretrained one, else the shortest name); members within the size tolerance point to it.
        """
        groups: dict[str, list[str]] = {}
        for name in self.nodes:
            groups.setdefault(variant_key(name), []).append(name)
        variant_of: dict[str, str] = {}
        for key, members in groups.items():
            if len(members) < 2:
                continue
            rep = min(members, key=lambda n: (n != key, self.nodes[n].type != "pretrained", len(n), n))
            for name in members:
                node = self.nodes[name]
                if name != rep and node.declared == name and _relative(node.params, self.nodes[rep].params) <= SIZE_TOLERANCE:
                    variant_of[name] = rep
        return variant_of

    def step(self, name: str) -> tuple[str | None, str | None, str]:
        """One step up the lineage: (parent or None, the evidence, the state if it stops here)."""
        if name in self.curated_base:
            return self.curated_base[name], "curated", ""
        node = self.nodes.get(name)
        if node is None:
            return None, None, "unknown"
        if node.unreadable:  # like a merge: the base must be inferred
            return None, None, "infer"
        if node.declared != name:
            return node.declared, "declared", ""
        if name in self.variant_of:
            return self.variant_of[name], "official_variant", ""
        if node.base_is_merge:
            return None, None, "infer"
        if node.official or node.type == "pretrained":
            return None, "own_root", "root"
        return None, None, "infer_or_root"

    def walk(self, name: str, source: str | None = None) -> _Walk:
        """Follow parents from ``name`` until a root, an unknown name or a model whose base must be inferred.

        The source is the weakest step taken; a model that is its own root reports how that was known.
        """
        seen: set[str] = set()
        while True:
            parent, how, state = self.step(name)
            if parent is None or parent in seen or len(seen) >= MAX_CHAIN:
                return _Walk(name, source if seen or source else how, state or "root")
            source = _weaker(source, how)
            seen.add(name)
            name = parent

    def params(self, name: str) -> float:
        return self.nodes[name].params if name in self.nodes else float("nan")

    def official(self, name: str) -> bool:
        return name in self.nodes and self.nodes[name].official

    def node_type(self, name: str) -> str:
        return self.nodes[name].type if name in self.nodes else ""

    def pretraining_run(self, name: str) -> bool:
        """Whether a root that is not a row of the file is known to be a pretraining run: an official or pretrained
        model on the leaderboard, or the base a curated fact names."""
        return self.official(name) or self.node_type(name) in PRETRAINED or name in set(self.curated_base.values())


@dataclass
class _Family:
    """What inference knows about a root: its sizes, its name tag and the token counts of its members.

    ``sizes`` are the root's parameter count as the data and the leaderboard give it and the median of its
    members' (fine-tunes of Mistral-Nemo-Base-2407 are listed at 12.2B, the base itself at 11.6B).
    """

    sizes: list[float]
    tag: str | None
    tokens: list[float]

    def distance(self, params: float) -> float:
        return min((_relative(params, s) for s in self.sizes), default=float("inf"))


def _matches(params: float, tokens: float, families: dict[str, _Family], candidates: list[str]) -> list[str]:
    """Candidates within the size tolerance sharing a member's token count; a tie is broken by a candidate
    within a fifth of the size tolerance when it is the only one."""
    found = [f for f in candidates if families[f].distance(params) <= SIZE_TOLERANCE
             and any(_relative(tokens, t) <= TOKENS_TOLERANCE for t in families[f].tokens)]
    if len(found) > 1:
        close = [f for f in found if families[f].distance(params) <= SIZE_TOLERANCE / 5]
        found = close if len(close) == 1 else found
    return found


def _infer(name: str, params: float, tokens: float, families: dict[str, _Family],
           tags: list[tuple[str, re.Pattern[str]]]) -> tuple[str, str] | None:
    """The family a model's name tag (if any), size and base token count point to; None unless unique."""
    tag = name_tag(name, tags)
    candidates = [f for f in families if f != name and (tag is None or families[f].tag == tag)]
    found = _matches(params, tokens, families, candidates)
    if len(found) != 1:
        return None
    return found[0], "inferred_size_tokens" if tag is None else "inferred_name_size"


def _known_roots(res: _Resolver, own: list[str], walks: list[_Walk], params: np.ndarray,
                 tokens: np.ndarray) -> dict[str, _Family]:
    """Roots inference may assign a model to: the families of the rows resolved without inference, and the
    official models in the data the leaderboard lists as merges of themselves whose base cannot be inferred
    (e.g. Llama-3.3-70B-Instruct)."""
    members: dict[str, list[int]] = {}
    for i, w in enumerate(walks):
        if w.state == "root":
            members.setdefault(w.name, []).append(i)
    row_of = {name: i for i, name in enumerate(own)}

    def family(name: str, rows: list[int]) -> _Family:
        sizes = [params[row_of[name]]] if name in row_of else []
        sizes += [res.params(name), float(np.median(params[rows]))]
        sizes = [x for x in sizes if np.isfinite(x) and x > 0]
        fam = _Family(sizes, name_tag(name, res.tags), [])
        fam.tokens = [tokens[i] for i in rows if fam.distance(params[i]) <= SIZE_TOLERANCE]
        return fam

    families = {name: family(name, rows) for name, rows in members.items()}
    for i, w in enumerate(walks):
        if w.state == "infer" and w.name == own[i] and _official_root(res, own[i]) and own[i] not in families:
            if _infer(own[i], params[i], tokens[i], families, res.tags) is None:
                families[own[i]] = family(own[i], [i])
    return families


def _base_tokens(models: pd.DataFrame) -> np.ndarray:
    """The base model's token count as the authors give it (``tokens_base_b``), else the row's own."""
    return models["tokens_base_b"].fillna(models["tokens_b"]).to_numpy(dtype=float)


def _finetune_tokens(models: pd.DataFrame) -> np.ndarray:
    """Fewer training tokens than parameters: no pretraining run is so short, so the authors recorded a fine-tune's
    (or a continued pretraining's) tokens (CantoneseLLMChat-v0.5: 6.1B parameters, 0.4B tokens)."""
    return (models["tokens_b"] < models["params_b"]).to_numpy()


def _derivative_tokens(models: pd.DataFrame) -> np.ndarray:
    """The token count says the model is a derivative: copied from its base, or a fine-tune's own."""
    return models["tokens_inherited"].to_numpy(dtype=bool) | _finetune_tokens(models)


def _own_names(res: _Resolver, models: pd.DataFrame) -> tuple[list[str], list[bool]]:
    """Each row's canonical repo name and whether the leaderboard lists it (by result id, else by repo name)."""
    joined = [res.by_eval.get(h) if isinstance(h, str) else None for h in models["hf_id"]]
    own = [j if j is not None else res.canon(repo_of(m)) for j, m in zip(joined, models["model_id"].astype(str))]
    return own, [j is not None or name in res.nodes for j, name in zip(joined, own)]


def on_leaderboard(models: pd.DataFrame, tables: LineageTables | None = None) -> pd.Series:
    """Whether each row joins the leaderboard extract (by result id, else by repo name): rows that do not
    get a family only from the curated table, a user's column or their name and size."""
    return pd.Series(_own_names(_Resolver(tables or LineageTables.shipped()), models)[1], index=models.index)


def derive_lineage(models: pd.DataFrame, tables: LineageTables | None = None) -> pd.DataFrame:
    """The lineage columns (``LINEAGE_COLUMNS``), indexed like ``models``: family, its source, whether its root is
    in the data and whether the row is the root; the family's base developer, how it was found and its group; the
    row's size change against its base; the row it duplicates.

    ``models`` needs ``model_id, hf_id, developer_raw, developer, developer_group, params_b, tokens_b,
    tokens_base_b, tokens_inherited, ln_flops_1e18, mmlu_pro, math_l5, release_month``; optional ``base_model`` and
    ``family`` columns (a user's) override the derivation where they change it (source ``user``).
    """
    tables = tables or LineageTables.shipped()
    res = _Resolver(tables)
    ids = models["model_id"].astype(str)
    own, on_board = _own_names(res, models)
    row_of_name = {name: i for i, name in enumerate(own)}
    walks = [res.walk(name) if board or name in res.curated_base else _Walk(name, None, "missing")
             for name, board in zip(own, on_board)]
    params = models["params_b"].to_numpy(dtype=float)
    tokens = _base_tokens(models)
    # A model whose tokens the authors copied from a base, or who recorded fewer tokens than it has parameters (a
    # fine-tune's or continued pretraining's), is a derivative, never a pretraining run of its own, even where the
    # leaderboard lists it as its own base: its base is inferred.
    derivative = _derivative_tokens(models)
    walks = [_Walk(w.name, None, "infer") if w.state == "root" and w.name == own[i] and derivative[i] else w
             for i, w in enumerate(walks)]
    families = _known_roots(res, own, walks, params, tokens)

    result = [_finish(w, own[i], params[i], tokens[i], derivative[i], families, res) for i, w in enumerate(walks)]
    family = [f for f, _ in result]
    source = [s for _, s in result]
    _apply_user_columns(models, res, own, family, source)
    display = [_display(f, row_of_name, ids, res) for f in family]
    out = pd.DataFrame(index=models.index)
    out["family"] = display
    out["family_source"] = source
    out["is_root"] = [d == m and s != "none" for d, m, s in zip(display, ids, source)]
    roots = set(out.loc[out["is_root"], "family"])
    out["family_root_in_data"] = out["family"].isin(roots)
    size_change = size_changes(models["model_id"], tables)
    out["base_developer"], out["base_developer_source"] = _base_developers(
        models, own, family, out["is_root"].to_numpy(), size_change.notna().to_numpy(), families, res)
    out["base_developer_group"] = base_developer_groups(models, out["base_developer"])
    out["size_change"] = size_change
    out["duplicate_of"] = duplicate_uploads(models)
    return out[LINEAGE_COLUMNS]


def _finish(w: _Walk, own: str, params: float, tokens: float, derivative: bool,
            families: dict[str, _Family], res: _Resolver) -> tuple[str, str]:
    """The family and source of one row, inferring the base where the walk stopped at a merge or fine-tune."""
    if w.state in ("root", "unknown"):
        return w.name, w.source or "declared"
    is_self = w.name == own
    size = params if is_self or not np.isfinite(res.params(w.name)) else res.params(w.name)
    found = _infer(w.name, size, tokens, families, res.tags)
    if found is not None:
        return found[0], _weaker(w.source, found[1])
    if not is_self:  # declared to a model whose own base is unknown: that model stands for the family
        return w.name, w.source or "declared"
    if w.state != "missing" and _falls_back_to_root(w.state, res, own, derivative):
        return own, "own_root"
    return own, "none"


def _falls_back_to_root(state: str, res: _Resolver, name: str, derivative: bool) -> bool:
    """Whether a self-declared model whose base cannot be inferred stands for its own pretraining run: an official
    self-merge that is not typed a merge, a continued pretraining, or a chat model the authors credit with its
    own training tokens (EXAONE); a model typed as a fine-tune or merge never does, nor one whose token count
    says it is a derivative (``_derivative_tokens``)."""
    if state == "infer":  # the leaderboard records it as a merge of itself, or could not read its base
        return _official_root(res, name) and not derivative
    kind = res.node_type(name)
    return not derivative and (kind == "continuously_pretrained" or kind not in ("fine_tuned", "merge"))


def _official_root(res: _Resolver, name: str) -> bool:
    """An official provider's model the leaderboard lists as a merge of itself but does not type as a merge
    (Llama-3.3-70B-Instruct, Qwen2.5-Coder-7B) stands for its own pretraining run when no base fits."""
    return res.official(name) and res.node_type(name) != "merge"


def _apply_user_columns(models: pd.DataFrame, res: _Resolver, own: list[str], family: list[str],
                        source: list[str]) -> None:
    """A user's ``family`` or ``base_model`` value replaces the derived family where it differs from it; a
    ``base_model`` naming the model itself makes a model without a derived family (``none``) a root."""
    for column in ("base_model", "family"):
        if column not in models.columns:
            continue
        for i, value in enumerate(models[column]):
            if not isinstance(value, str) or not value.strip():
                continue
            if column == "family":
                target = res.canon(repo_of(value.strip()))
                res.spelling.setdefault(target, repo_of(value.strip()))
            else:
                base = res.canon(value)
                target = own[i] if base == own[i] else res.walk(base, "user").name
            # A model named as its own base is a root, which `none` is not (a `family` equal to the model's own id
            # is what a curated file writes for `none`, so it keeps `none`).
            own_root = column == "base_model" and target == own[i] and source[i] == "none"
            if target != family[i] or own_root:
                family[i], source[i] = target, "user"


def _display(name: str, row_of_name: dict[str, int], ids: pd.Series, res: _Resolver) -> str:
    """A family's id as printed: the root's model id when it is in the data, else its repo as 'org__name'."""
    if name in row_of_name:
        return str(ids.iloc[row_of_name[name]])
    return res.spelling.get(name, name).replace("/", "__", 1)


# --------------------------------------------------------------------------------------------- base developers


def size_changes(model_ids: pd.Series, tables: LineageTables) -> pd.Series:
    """``pruned`` or ``upscaled`` where a model's name matches a pattern of ``lineage_size_changes.csv``, else missing:
    its parameter count is not its base's pretraining run's (see data/README.md for what that does to compute)."""
    names = model_ids.astype(str).map(lambda m: _name_part(repo_of(m)))
    return names.map(lambda n: next((kind for kind, pattern in tables.size_changes if pattern.search(n)), np.nan))


def _organisation(name: str) -> str:
    return name.split("/", 1)[0] if "/" in name else ""


def _base_developers(models: pd.DataFrame, names: list[str], family: list[str], is_root: np.ndarray,
                     resized: np.ndarray, families: dict[str, _Family], res: _Resolver) -> tuple[list[str], list[str]]:
    """Each row's family's base developer and how it was found (``BASE_SOURCES``), in two passes: families whose
    pretraining run is known (its root is a row, a curated fact names its developer, or its root is a known
    pretraining run: the organisation that published it); then the others, whose members show whether they are
    derivatives: if none does, the family is its releaser's; if some do, the developer their base tokens and name
    point to, else the unknown base. ``names`` are the rows' canonical repo names, ``family`` their families'."""
    developer = models["developer"].astype(str).to_numpy()
    by_org = dict(zip(models["developer_raw"].astype(str).str.lower(), developer))
    named_rows = set(names)
    rows: dict[str, list[int]] = {}
    for i, f in enumerate(family):
        rows.setdefault(f, []).append(i)

    def org_developer(name: str) -> str:
        org = _organisation(res.spelling.get(name, name))
        return by_org.get(org.lower(), org) if org else ""

    def curated(name: str) -> str:
        target = res.curated_developer.get(name) or res.curated_developer.get(_organisation(name))
        return by_org.get(target.lower(), target) if target else ""

    base: dict[str, tuple[str, str]] = {}
    for f, members in rows.items():
        root = [i for i in members if is_root[i]]
        if root:
            base[f] = developer[root[0]], "root"
        elif curated(f):
            base[f] = curated(f), "curated"
        elif f not in named_rows and res.pretraining_run(f) and org_developer(f):
            base[f] = org_developer(f), "provider"
    known = {name: fam for name, fam in families.items() if name in base}
    params, tokens = models["params_b"].to_numpy(dtype=float), _base_tokens(models)
    derivative, finetune_tokens = _derivative_tokens(models), _finetune_tokens(models)
    for f, members in rows.items():
        if f in base:
            continue
        tags = {i: name_tag(names[i], res.tags) for i in members}
        derived = [i for i in members if derivative[i] or resized[i]
                   or _tokens_point_to(known, params[i], tokens[i], tags[i], size_needed=tags[i] is None)]
        if not derived:
            named = [i for i in members if names[i] == f]
            base[f] = (developer[named[0]] if named else org_developer(f) or developer[members[0]]), "releaser"
            continue
        found = set().union(*(_developers_of_base(known, base, params[i], tokens[i], tags[i], finetune_tokens[i])
                              for i in derived))
        base[f] = (found.pop(), "inferred") if len(found) == 1 else (UNKNOWN_BASE, "unknown")
    return [base[f][0] for f in family], [base[f][1] for f in family]


def _candidates(known: dict[str, _Family], tag: str | None) -> list[str]:
    return [f for f in known if tag is None or known[f].tag == tag]


def _tokens_point_to(known: dict[str, _Family], params: float, tokens: float, tag: str | None,
                     size_needed: bool) -> list[str]:
    """Known pretraining runs (of the name's tag, if any) one of whose members has these base tokens (and, where
    ``size_needed``, this size): a model they point to is a derivative."""
    return [f for f in _candidates(known, tag) if any(_relative(tokens, t) <= TOKENS_TOLERANCE for t in known[f].tokens)
            and (not size_needed or known[f].distance(params) <= SIZE_TOLERANCE)]


def _developers_of_base(known: dict[str, _Family], base: dict[str, tuple[str, str]], params: float, tokens: float,
                        tag: str | None, finetune_tokens: bool) -> set[str]:
    """The developers whose pretraining runs a derivative may come from: those sharing its base tokens (and name tag),
    narrowed to those within the size tolerance when they are several developers' runs; by size (and tag) alone
    when its recorded tokens are its fine-tune's."""
    by_size = [f for f in _candidates(known, tag) if known[f].distance(params) <= SIZE_TOLERANCE]
    if finetune_tokens:
        return {base[f][0] for f in by_size}
    by_tokens = _tokens_point_to(known, params, tokens, tag, size_needed=False)
    developers = {base[f][0] for f in by_tokens}
    return developers if len(developers) <= 1 else {base[f][0] for f in by_tokens if f in by_size}


def base_developer_groups(models: pd.DataFrame, base_developer: pd.Series) -> pd.Series:
    """Each base developer's paper group: its own rows' where it has rows in the file, else the Other size bin of
    the mean ln(6 N D) of the rows it based (the unknown base and organisations known only as publishers of a root)."""
    own = models.drop_duplicates("developer").set_index("developer")["developer_group"]
    based = models["ln_flops_1e18"].groupby(base_developer.to_numpy()).mean()
    return base_developer.map(own).fillna(base_developer.map(other_groups(based)))


def duplicate_uploads(models: pd.DataFrame) -> pd.Series:
    """The model id of the row a row duplicates, else missing: rows of one developer with the same parameter count and
    the same MMLU-Pro and MATH Level 5 scores are one model uploaded twice; the earliest released (then the first by
    id) is kept."""
    key = ["developer_raw", "params_b", "mmlu_pro", "math_l5"]
    order = models.sort_values(["release_month", "model_id"], kind="stable")
    first = order.groupby(key, dropna=False)["model_id"].transform("first")
    return first.where(first != order["model_id"]).reindex(models.index)


# --------------------------------------------------------------------------------------------- summaries
