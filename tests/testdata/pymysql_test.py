"""Talks to a Coffer node with PyMySQL, as a Python application would.

Run by TestPyMySQL (tests/pymysql_test.go):
    pymysql_test.py HOST PORT USER PASSWORD DATABASE
Prints one line per step and "PASS" at the end; any failure raises, so the
exit status is non-zero and the traceback names the step.
"""

import sys

import pymysql


def connect(host, port, user, password, database, **kw):
    return pymysql.connect(host=host, port=port, user=user, password=password,
                           database=database, connect_timeout=10, **kw)


def expect(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")
    print(f"ok: {what}")


def main():
    host, port, user, password, database = sys.argv[1:6]
    port = int(port)
    conn = connect(host, port, user, password, database, autocommit=True)
    cur = conn.cursor()

    cur.execute("CREATE TABLE py_books ("
                " id INT PRIMARY KEY AUTO_INCREMENT,"
                " isbn VARCHAR(20) NOT NULL,"
                " title VARCHAR(100) NOT NULL,"
                " price DECIMAL(8,2),"
                " UNIQUE KEY by_isbn (isbn))")
    print("ok: create table")

    books = [("978-0", "Dune", "9.99"),
             ("978-1", "It's \"quoted\"; DROP TABLE py_books; --", "12.50"),
             ("978-2", "Zürich — ünïcode ☕", None)]
    n = cur.executemany("INSERT INTO py_books (isbn, title, price) VALUES (%s, %s, %s)", books)
    expect(n, 3, "executemany rowcount")

    # A transaction that is rolled back leaves nothing behind.
    conn.begin()
    cur.execute("INSERT INTO py_books (isbn, title) VALUES (%s, %s)", ("978-9", "Rolled back"))
    cur.execute("UPDATE py_books SET price = 0 WHERE isbn = %s", ("978-0",))
    conn.rollback()
    cur.execute("SELECT COUNT(*) FROM py_books WHERE isbn = %s", ("978-9",))
    expect(cur.fetchone(), (0,), "rolled-back insert is gone")

    # A committed transaction is visible to another connection.
    conn.begin()
    cur.execute("UPDATE py_books SET price = price + %s WHERE isbn = %s", ("1.00", "978-0"))
    conn.commit()
    other = connect(host, port, user, password, database)
    with other.cursor() as ocur:
        ocur.execute("SELECT price FROM py_books WHERE isbn = %s", ("978-0",))
        expect(str(ocur.fetchone()[0]), "10.99", "committed update seen by another connection")
    other.close()

    # PyMySQL's default, autocommit=False: the driver believes the
    # server's status flags (the greeting's and each OK packet's) and sends
    # SET autocommit=0 only if they say autocommit is on, so a server that
    # left the flag off would commit every statement at once.
    manual = connect(host, port, user, password, database)
    expect(manual.get_autocommit(), False, "default connection is not in autocommit mode")
    with manual.cursor() as mcur:
        mcur.execute("INSERT INTO py_books (isbn, title) VALUES (%s, %s)", ("978-8", "Not yet"))
        expect(bool(manual.server_status & 1), True, "an insert without autocommit opens a transaction")
        cur.execute("SELECT COUNT(*) FROM py_books WHERE isbn = %s", ("978-8",))
        expect(cur.fetchone(), (0,), "uncommitted insert unseen by another connection")
        manual.rollback()
        cur.execute("SELECT COUNT(*) FROM py_books WHERE isbn = %s", ("978-8",))
        expect(cur.fetchone(), (0,), "rollback() undoes an insert made without autocommit")
        mcur.execute("DELETE FROM py_books WHERE isbn = %s", ("978-1",))
        manual.commit()
        cur.execute("SELECT COUNT(*) FROM py_books WHERE isbn = %s", ("978-1",))
        expect(cur.fetchone(), (0,), "commit() makes a delete made without autocommit visible")
        mcur.execute("INSERT INTO py_books (isbn, title, price) VALUES (%s, %s, %s)", books[1])
        manual.commit()
    manual.close()

    cur.execute("SELECT isbn, title, price FROM py_books ORDER BY isbn")
    got = [(isbn, title, None if price is None else str(price)) for isbn, title, price in cur.fetchall()]
    expect(got, [("978-0", "Dune", "10.99"), books[1], books[2]], "select back")

    try:
        cur.execute("INSERT INTO py_books (isbn, title) VALUES (%s, %s)", ("978-1", "Duplicate"))
        raise AssertionError("duplicate isbn was accepted")
    except pymysql.err.IntegrityError as e:
        expect(e.args[0], 1062, "duplicate key raises IntegrityError 1062")

    try:
        cur.execute("SELECT * FROM py_missing")
        raise AssertionError("unknown table was accepted")
    except pymysql.err.ProgrammingError as e:
        expect(e.args[0], 1146, "unknown table raises ProgrammingError 1146")

    cur.execute("SELECT %s + 1", (41,))
    expect(cur.fetchone(), (42,), "connection still usable after errors")
    conn.close()
    print("PASS")


if __name__ == "__main__":
    main()
