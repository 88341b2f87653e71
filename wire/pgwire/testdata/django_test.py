"""Django's ORM against Coffer's Postgres wire.

Usage: django_test.py HOST PORT USER PASSWORD. Writes a tiny project (an
app with two models) into a temporary directory, configures Django in
code with the postgresql backend, runs makemigrations and migrate, then
ORM create/filter/update/delete and a rolled back atomic block. Prints
OK lines; exits non-zero on the first failure.
"""
import atexit
import decimal
import os
import shutil
import sys
import tempfile
import datetime

host, port, user, password = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

MODELS = '''
from django.db import models


class Account(models.Model):
    owner = models.CharField(max_length=40, unique=True)
    balance = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    active = models.BooleanField(default=True)
    opened = models.DateTimeField(null=True)
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["owner"]


class Entry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="entries")
    amount = models.IntegerField()
    memo = models.CharField(max_length=100, db_index=True)
'''

root = tempfile.mkdtemp(prefix="coffer-django-")
atexit.register(shutil.rmtree, root, True)
app = os.path.join(root, "ledgerapp")
os.makedirs(os.path.join(app, "migrations"))
for name, text in [("__init__.py", ""), ("migrations/__init__.py", ""), ("models.py", MODELS)]:
    with open(os.path.join(app, name), "w") as f:
        f.write(text)
sys.path.insert(0, root)

import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres", "HOST": host, "PORT": port, "USER": user, "PASSWORD": password,
    }},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "ledgerapp"],
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum

call_command("makemigrations", "ledgerapp", verbosity=0)
call_command("migrate", verbosity=0)
call_command("migrate", verbosity=0)  # again: nothing to do
# contrib migrations altered columns: auth_permission.name became
# varchar(255), auth_user.last_login nullable, django_content_type.name
# nullable and then dropped.
with connection.cursor() as cur:
    desc = {c.name: c for c in connection.introspection.get_table_description(cur, "auth_permission")}
    assert desc["name"].internal_size == 255, desc["name"]
    desc = {c.name: c for c in connection.introspection.get_table_description(cur, "auth_user")}
    assert desc["last_login"].null_ok, desc["last_login"]
    assert "name" not in {c.name for c in connection.introspection.get_table_description(cur, "django_content_type")}
from django.contrib.auth.models import User
u = User.objects.create_user("ada", password="pw-ada")
assert User.objects.get(username="ada").check_password("pw-ada") and u.last_login is None
print("OK django migrate")

from ledgerapp.models import Account, Entry

opened = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
alice = Account.objects.create(owner="alice", balance=decimal.Decimal("100.50"), opened=opened)
assert alice.pk == 1, alice.pk
bob = Account.objects.create(owner="bob", balance=20, active=False)
Account.objects.bulk_create([Account(owner="carol", balance=decimal.Decimal("7.25"))])
Entry.objects.create(account=alice, amount=-50, memo="rent")
Entry.objects.create(account=alice, amount=10, memo="refund")
Entry.objects.create(account=bob, amount=5, memo="gift")

got = Account.objects.get(owner="alice")
assert got.balance == decimal.Decimal("100.50") and got.active is True and got.opened == opened, vars(got)
assert [a.owner for a in Account.objects.filter(balance__gt=10)] == ["alice", "bob"]
assert [a.owner for a in Account.objects.filter(owner__icontains="AR")] == ["carol"]
assert Account.objects.filter(active=False).count() == 1
assert list(Account.objects.exclude(owner__startswith="a").values_list("owner", flat=True)) == ["bob", "carol"]
assert Entry.objects.filter(account__owner="alice").aggregate(s=Sum("amount"))["s"] == -40
counts = {a.owner: a.n for a in Account.objects.annotate(n=Count("entries"))}
assert counts == {"alice": 2, "bob": 1, "carol": 0}, counts
assert Account.objects.filter(pk__in=[1, 3]).count() == 2
assert Account.objects.order_by("-balance").first().owner == "alice"
assert Account.objects.all()[1:2].get().owner == "bob"
print("OK django query")

assert Account.objects.filter(owner="bob").update(balance=F("balance") + 50) == 1
bob.refresh_from_db()
assert bob.balance == decimal.Decimal("70.00"), bob.balance
alice.note = "first"
alice.save()
assert Account.objects.get(pk=alice.pk).note == "first"
try:
    with transaction.atomic():
        Account.objects.filter(owner="carol").delete()
        raise RuntimeError("roll back")
except RuntimeError:
    pass
assert Account.objects.filter(owner="carol").exists()
try:
    with transaction.atomic():
        Account.objects.create(owner="alice")
    raise AssertionError("duplicate owner accepted")
except IntegrityError:
    pass
deleted, _ = Account.objects.filter(owner="alice").delete()
assert deleted == 3, deleted  # alice and her two entries (CASCADE)
assert Entry.objects.count() == 1
print("OK django orm")
connection.close()
