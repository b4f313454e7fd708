"""What customers and agents write, with moods that give sentiment a spread.

Customer messages are built from an opener that carries the mood and a topic
sentence for the ticket's category; VADER scores the opener's words, so the
mix of moods sets the sentiment distribution.
"""

from __future__ import annotations

import random

MOODS: dict[str, tuple[str, ...]] = {
    "angry": (
        "This is unacceptable, I am furious.",
        "Terrible service, nothing works and nobody helps.",
        "I am really angry and disappointed with you.",
        "Worst experience ever, this is a disaster.",
    ),
    "unhappy": (
        "I am frustrated, this keeps failing.",
        "Sorry, but this is annoying and confusing.",
        "Still broken, I am not happy about this.",
        "This is a problem and I am worried.",
    ),
    "neutral": (
        "Hello, I have a question.",
        "Hi, writing about my account.",
        "Please see the details below.",
        "Quick note about an order.",
    ),
    "happy": (
        "Thanks so much, you are great!",
        "Love the product, thank you for the help.",
        "Great job so far, really appreciate it.",
        "Awesome support last time, thanks!",
    ),
}

#: How likely each mood is for a first message and for a follow-up, which
#: turns sourer the longer a customer waited.
FIRST_MOODS = {"angry": 0.10, "unhappy": 0.25, "neutral": 0.45, "happy": 0.20}
FOLLOW_UP_MOODS = {"angry": 0.25, "unhappy": 0.35, "neutral": 0.30, "happy": 0.10}

TOPICS: dict[str, tuple[str, ...]] = {
    "billing": ("I was charged twice this month.", "Where is my invoice?"),
    "login": ("I cannot log in to my account.", "The password reset mail never came."),
    "bug": ("The app crashes when I open settings.", "Export gives an empty file."),
    "shipping": ("My parcel has not arrived.", "The tracking link shows nothing."),
    "refund": ("I would like a refund for my order.", "When will my refund arrive?"),
}

AGENT_REPLIES: tuple[str, ...] = (
    "Thanks for reaching out, I am looking into this now.",
    "Sorry for the trouble. Could you send the order number?",
    "I have fixed this on our side, please try again.",
    "Happy to help! I have passed this to the right team.",
)


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    """One key of `weights`, drawn with those weights."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def customer_text(rng: random.Random, category: str, moods: dict[str, float]) -> str:
    """A customer message about `category` in a mood drawn from `moods`."""
    opener = rng.choice(MOODS[pick(rng, moods)])
    return f"{opener} {rng.choice(TOPICS[category])}"


def agent_text(rng: random.Random) -> str:
    """An agent's answer."""
    return rng.choice(AGENT_REPLIES)
