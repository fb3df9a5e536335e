"""Problems: the error value, and the list that keeps a bounded number of each code."""

from edi import problems as P
from edi.problems import Problems, by_position, error, left_out, warning


def test_a_problems_list_keeps_the_first_of_each_code_and_counts_the_rest(monkeypatch):
    monkeypatch.setattr(P, "KEEP_PER_CODE", 3)
    found = Problems()
    for i in range(5):
        found.append(warning("x12.segment.empty", "an empty segment", segment=i + 1))
    found.append(error("x12.se.count", "wrong count", segment=9))
    assert [p.where.segment for p in found] == [1, 2, 3, 9]
    assert found.left_out == {"x12.segment.empty": 2}
    assert found.left_out_total() == 2


def test_joined_lists_add_what_they_left_out(monkeypatch):
    monkeypatch.setattr(P, "KEEP_PER_CODE", 2)
    a = Problems(warning("a.code", "m", segment=n) for n in (5, 4, 3))
    b = [error("b.code", "m", segment=1)]
    for joined in (a + b, b + a):
        assert isinstance(joined, Problems)
        assert joined.left_out == {"a.code": 1}
        assert len(joined) == 3
    a += [warning("a.code", "m", segment=7)]
    assert a.left_out == {"a.code": 2}
    ordered = by_position(a + b)
    assert [p.where.segment for p in ordered] == [1, 4, 5] and left_out(ordered) == {"a.code": 2}


def test_a_plain_list_left_nothing_out():
    assert left_out([error("a", "m")]) == {}
    assert by_position([error("a", "m", segment=2), error("b", "m", segment=1)])[0].code == "b"
