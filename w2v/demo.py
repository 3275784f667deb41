"""A small generated corpus for `w2v train --demo`: no download, a real training run.

Sentences come from templates over word groups (animals, foods, countries with their
capitals, colours, numbers), so a model trained on it puts each group's words together and
answers "france is to paris as italy is to ?" without any outside data.
"""
import random

GROUPS = {
    "animal": ["cat", "dog", "horse", "cow", "sheep", "goat", "rabbit", "mouse", "fox", "wolf"],
    "food": ["bread", "cheese", "apple", "rice", "soup", "cake", "fish", "salad", "pasta", "honey"],
    "colour": ["red", "blue", "green", "yellow", "black", "white", "purple", "orange", "brown", "grey"],
    "number": ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve"],
    "verb": ["sees", "likes", "follows", "watches", "finds", "meets", "hears", "helps", "knows", "calls"],
}
CAPITALS = {
    "france": "paris", "italy": "rome", "spain": "madrid", "germany": "berlin", "japan": "tokyo",
    "egypt": "cairo", "russia": "moscow", "greece": "athens", "china": "beijing", "peru": "lima",
}
LANGUAGES = {
    "france": "french", "italy": "italian", "spain": "spanish", "germany": "german", "japan": "japanese",
    "egypt": "arabic", "russia": "russian", "greece": "greek", "china": "chinese", "peru": "quechua",
}
DEMO_QUERIES = ["cat", "bread", "paris", "red"]
DEMO_ANALOGIES = [("france", "paris", "italy"), ("japan", "tokyo", "egypt")]

_TEMPLATES = [
    "the {colour} {animal} {verb} the {animal}",
    "a {animal} eats {food} and {food}",
    "{number} {animal}s {verb} {number} {colour} {animal}s",
    "we had {food} with {food} for dinner",
    "the {animal} in {capital} {verb} a {colour} {animal}",
    "{capital} is the capital of {country}",
    "the capital of {country} is {capital}",
    "people in {country} eat {food} ; in {capital} they like {food}",
    "she flew from {capital} in {country} to {capital2} in {country2}",
    "{country} and {country2} signed a treaty in {capital}",
    "the city of {capital} is big and old",
    "the nation of {country} is big and old",
    "people in {capital} speak {language} every day",
    "people of {country} speak {language} every day",
    "a {language} city : {capital}",
    "a {language} nation : {country}",
    "the flag of {country} is {colour} and {colour}",
    "i counted {number} {colour} birds and {number} {animal}s",
]


def sentences(n_sentences=40_000, seed=0):
    rng = random.Random(seed)
    countries = list(CAPITALS)
    for _ in range(n_sentences):
        template = rng.choice(_TEMPLATES)
        c1, c2 = rng.sample(countries, 2)
        text = template
        while "{" in text:
            start = text.index("{")
            name = text[start + 1:text.index("}", start)]
            if name == "country":
                value = c1
            elif name == "country2":
                value = c2
            elif name == "capital":
                value = CAPITALS[c1]
            elif name == "capital2":
                value = CAPITALS[c2]
            elif name == "language":
                value = LANGUAGES[c1]
            else:
                value = rng.choice(GROUPS[name])
            text = text[:start] + value + text[text.index("}", start) + 1:]
        yield text


def write_demo_corpus(path, n_sentences=40_000, seed=0):
    with open(path, "w", encoding="utf-8") as fh:
        for s in sentences(n_sentences, seed):
            fh.write(s + "\n")
    return path
