"""psycopg2 and SQLAlchemy (Core and ORM) against Coffer's Postgres wire.

Usage: psycopg_test.py HOST PORT USER PASSWORD. Prints OK lines; exits
non-zero on the first failure.
"""
import sys

import psycopg2
import sqlalchemy as sa
from sqlalchemy import orm

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

# psycopg2: DDL, parameters, a rolled back transaction, errors.
conn = psycopg2.connect(host=host, port=port, user=user, password=password, dbname="postgres")
cur = conn.cursor()
cur.execute("CREATE TABLE pg_people (id SERIAL PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN DEFAULT true, born DATE)")
cur.execute("INSERT INTO pg_people (name, active, born) VALUES (%s, %s, %s) RETURNING id", ("ada", True, "1815-12-10"))
pid = cur.fetchone()[0]
conn.commit()
cur.execute("SELECT name, active, born FROM pg_people WHERE id = %s", (pid,))
row = cur.fetchone()
assert row[0] == "ada" and row[1] is True and str(row[2]) == "1815-12-10", row
cur.execute("INSERT INTO pg_people (name) VALUES (%s)", ("bob",))
conn.rollback()
cur.execute("SELECT count(*) FROM pg_people")
assert cur.fetchone()[0] == 1
try:
    cur.execute("SELECT * FROM no_such_table")
    raise AssertionError("no error")
except psycopg2.errors.UndefinedTable:
    conn.rollback()
print("OK psycopg2")
conn.close()

# SQLAlchemy Core.
engine = sa.create_engine(f"postgresql+psycopg2://{user}:{password}@{host}:{port}/postgres")
meta = sa.MetaData()
books = sa.Table("pg_books", meta,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("title", sa.String(200), nullable=False),
                 sa.Column("pages", sa.Integer))
meta.create_all(engine)
with engine.begin() as c:
    c.execute(books.insert(), [{"title": "Dune", "pages": 412}, {"title": "Emma", "pages": 474}])
with engine.connect() as c:
    rows = c.execute(sa.select(books.c.title).where(books.c.pages > 420).order_by(books.c.id)).all()
    assert [r.title for r in rows] == ["Emma"], rows
assert sa.inspect(engine).has_table("pg_books")
print("OK sqlalchemy core")

# SQLAlchemy ORM.
Base = orm.declarative_base()  # SQLAlchemy 1.4 (Debian 12) and 2.x


class Note(Base):
    __tablename__ = "pg_notes"
    id = sa.Column(sa.Integer, primary_key=True)
    body = sa.Column(sa.String(100))


Base.metadata.create_all(engine)
with orm.Session(engine, future=True) as s:
    s.add_all([Note(body="first"), Note(body="second")])
    s.commit()
    n = s.scalars(sa.select(Note).where(Note.body == "second")).one()
    n.body = "changed"
    s.commit()
    s.add(Note(body="discarded"))
    s.flush()
    s.rollback()
    bodies = sorted(x.body for x in s.scalars(sa.select(Note)))
    assert bodies == ["changed", "first"], bodies
print("OK sqlalchemy orm")
