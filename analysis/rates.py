"""Per-question counts and the rates evaluators report (满意率, 安全感率…), with their exact n.

A rate counts respondents whose chosen option is flagged ``positive`` over the valid respondents
who answered the question. An option flagged ``dont_know`` is either left out of the denominator
(policy ``exclude``, the default) or counted as not satisfied (``not_satisfied``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.index import IndexValue, item_index
from analysis.lazy import lazy_module
from analysis.numbers import percent, percent_of, wilson_interval
from analysis.uncertainty import interval_sides, max_margin_of_error

np = lazy_module("numpy")
pd = lazy_module("pandas")


@dataclass(frozen=True)
class OptionCount:
    """How many valid respondents chose one option, and their share of those who answered."""

    key: str
    text: str
    count: int
    answered: int

    @property
    def percent(self) -> str | None:
        return percent(self.count, self.answered)


@dataclass(frozen=True)
class Rate:
    """A share with everything needed to print and defend it."""

    question_key: str
    question_number: str
    measure: str | None
    label: str | None  # the questionnaire's own name for the rate, if it set one
    numerator: int
    denominator: int
    positive_options: list[str]
    dont_know_options: list[str]
    dont_know_count: int
    dont_know_policy: str
    small_sample: bool
    population: int | None = None  # for the finite-population correction of the maximum margin

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> str | None:
        return percent(self.numerator, self.denominator)

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.numerator, self.denominator)

    @property
    def interval_sides(self) -> tuple[float, float] | None:
        """How far the 95% interval reaches below and above the rate, as fractions (not symmetric)."""
        bounds = self.interval
        return None if bounds is None else interval_sides(self.value, bounds)

    @property
    def interval_sides_percent(self) -> tuple[str, str] | None:
        """The two sides in percentage points, each rounded half up from its exact value."""
        sides = self.interval_sides
        return None if sides is None else (percent_of(sides[0]), percent_of(sides[1]))

    @property
    def max_margin(self) -> float | None:
        """The margin at p = 0.5 for this n (finite-population corrected): the conventional survey figure."""
        return max_margin_of_error(self.denominator, self.population)

    @property
    def max_margin_percent(self) -> str | None:
        return percent_of(self.max_margin)

    @property
    def interval_percent(self) -> tuple[str, str] | None:
        bounds = self.interval
        return None if bounds is None else (percent_of(bounds[0]), percent_of(bounds[1]))


@dataclass(frozen=True)
class QuestionSummary:
    """Everything the results page shows for one question."""

    question: dict
    answered: int
    options: list[OptionCount] = field(default_factory=list)
    rate: Rate | None = None
    texts: list[str] = field(default_factory=list)
    numbers: NumberSummary | None = None
    index: IndexValue | None = None  # satisfaction index 0–100 from option scores
    attention_passed: int | None = None  # for attention checks: how many chose the right answer
    other_texts: list[str] = field(default_factory=list)  # what respondents wrote under "其他"


def option_counts(question: dict, column: pd.Series) -> tuple[int, list[OptionCount]]:
    """Counts per option among respondents who answered; multiple choice counts each ticked option."""
    if question["storage"] != "many":
        tally, answered = option_tally(question, column)
        return answered, [
            OptionCount(o["key"], o["text"], int(n), answered) for o, n in zip(question["options"], tally, strict=True)
        ]
    answered_mask = column.map(lambda v: isinstance(v, list) and len(v) > 0)
    answered = int(answered_mask.sum())
    tally = column[answered_mask].explode().value_counts()
    return answered, [
        OptionCount(o["key"], o["text"], int(tally.get(o["key"], 0)), answered) for o in question["options"]
    ]


def dont_know_rule(option: dict, default_policy: str) -> str | None:
    """How one option counts: ``None`` (an ordinary option), ``exclude`` or ``not_satisfied``."""
    flag = option.get("dont_know")
    if not flag:
        return None
    return default_policy if flag is True else flag


def option_tally(question: dict, column: pd.Series) -> tuple[np.ndarray, int]:
    """Counts per option (in the question's order) and the number who answered."""
    options = [o["key"] for o in question["options"]]
    if isinstance(column.dtype, pd.CategoricalDtype) and list(column.cat.categories) == options:
        codes = column.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(options))
        return counts, int(counts.sum())
    answered = column.dropna()
    tally = answered.value_counts()
    return np.array([int(tally.get(key, 0)) for key in options]), len(answered)


def question_rate(
    question: dict, column: pd.Series, dont_know_policy: str, small_n: int, population: int | None = None
) -> Rate | None:
    """The positive share of a single-answer question, or ``None`` if no option is flagged positive.

    Options flagged ``dont_know`` leave the denominator (rule ``exclude``) or stay in it as not
    positive (``not_satisfied``); each option may set its own rule, else the questionnaire's applies.
    """
    if question["storage"] != "one" or not any(o.get("positive") for o in question["options"]):
        return None
    counts, answered = option_tally(question, column)
    return rate_from_counts(question, counts, answered, dont_know_policy, small_n, population)


def rate_from_counts(
    question: dict, counts: np.ndarray, answered: int, dont_know_policy: str, small_n: int, population: int | None
) -> Rate:
    """A rate from per-option counts (shared by whole-sample rates and breakdown cells)."""
    options = question["options"]
    rules = [dont_know_rule(o, dont_know_policy) for o in options]
    numerator = int(sum(c for c, o in zip(counts, options, strict=True) if o.get("positive")))
    dont_know_count = int(sum(c for c, rule in zip(counts, rules, strict=True) if rule))
    excluded = int(sum(c for c, rule in zip(counts, rules, strict=True) if rule == "exclude"))
    denominator = answered - excluded
    policies = {rule for rule in rules if rule}
    return Rate(
        question_key=question["key"],
        question_number=question["number"],
        measure=question.get("measure"),
        label=question.get("rate_label"),
        numerator=numerator,
        denominator=denominator,
        positive_options=[o["text"] for o in options if o.get("positive")],
        dont_know_options=[o["text"] for o, rule in zip(options, rules, strict=True) if rule],
        dont_know_count=dont_know_count,
        dont_know_policy=policies.pop() if len(policies) == 1 else "mixed",
        small_sample=denominator < small_n,
        population=population,
    )


@dataclass(frozen=True)
class NumberSummary:
    """Distribution of a number question over the valid respondents who answered it."""

    answered: int
    mean: float | None
    median: float | None
    minimum: float | None
    maximum: float | None
    std: float | None  # sample standard deviation (n - 1), as SPSS reports it


def number_summary(column: pd.Series) -> NumberSummary:
    """Mean, median, range and standard deviation of the answered numbers."""
    values = pd.to_numeric(column, errors="coerce").dropna()
    if values.empty:
        return NumberSummary(0, None, None, None, None, None)
    std = float(values.std(ddof=1)) if len(values) > 1 else None
    return NumberSummary(
        len(values), float(values.mean()), float(values.median()), float(values.min()), float(values.max()), std
    )


def non_blank_texts(column: pd.Series | None) -> list[str]:
    """The written answers of a text column, blanks dropped, in response order."""
    if column is None:
        return []
    return [str(v).strip() for v in column.dropna() if str(v).strip()]


def summarise_question(
    question: dict,
    column: pd.Series,
    dont_know_policy: str,
    small_n: int,
    other: pd.Series | None = None,
    population: int | None = None,
) -> QuestionSummary:
    """Counts, rate and text answers for one question, over valid responses only.

    ``other`` is the column of texts written under the question's "其他" option, if it has one.
    """
    if question["storage"] == "text":
        texts = non_blank_texts(column)
        return QuestionSummary(question, len(texts), texts=texts)
    if question["storage"] == "number":
        numbers = number_summary(column)
        return QuestionSummary(question, numbers.answered, numbers=numbers)
    answered, counts = option_counts(question, column)
    rate = question_rate(question, column, dont_know_policy, small_n, population)
    passed = None
    if question.get("attention_correct"):
        passed = int((column == question["attention_correct"]).sum())
    return QuestionSummary(
        question,
        answered,
        counts,
        rate,
        other_texts=non_blank_texts(other),
        attention_passed=passed,
        index=item_index(question, column),
    )
