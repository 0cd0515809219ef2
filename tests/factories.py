"""factory_boy factories and the named personas every access test uses."""

import factory
from django.contrib.auth.hashers import make_password

from campagne.accounts.models import Role, User
from campagne.people.models import Person
from campagne.territory.models import Commune, Departement, Region

PASSWORD = "correct horse battery staple"
# Hashing once keeps the suite fast: every persona shares this password.
_PASSWORD_HASH = make_password(PASSWORD)


def region(code: str = "93", name: str = "Provence-Alpes-Côte d'Azur") -> Region:
    return Region.objects.get_or_create(code=code, defaults={"name": name})[0]


def departement(
    code: str = "04", name: str = "Alpes-de-Haute-Provence", region_code: str = "93"
) -> Departement:
    return Departement.objects.get_or_create(
        code=code, defaults={"name": name, "region": region(region_code)}
    )[0]


def commune(code: str = "04070", name: str = "Digne-les-Bains", dep: str | None = None) -> Commune:
    """The real commune when the COG is loaded (it is, after migrate); created otherwise."""
    from campagne.lib.text import search_key

    dep_code = dep or (code[:3] if code.startswith("97") else code[:2])
    return Commune.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "search_name": search_key(name),
            "departement": departement(dep_code),
        },
    )[0]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    role = Role.VOLUNTEER
    password = _PASSWORD_HASH

    @factory.post_generation
    def departements(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            self.departements.set([departement(code) for code in extracted])

    @factory.post_generation
    def communes(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            self.communes.set([commune(code) for code in extracted])


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person
        skip_postgeneration_save = True

    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    email = factory.Sequence(lambda n: f"personne{n}@example.test")
    phone = factory.Sequence(lambda n: f"+336{n:08d}")
    postal_code = "04000"
    commune = factory.LazyFunction(commune)
    origin = "tests"

    @factory.post_generation
    def tags(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        from campagne.people.models import Tag

        if create and extracted:
            self.tags.set([Tag.objects.get_or_create(name=name)[0] for name in extracted])
