"""Hypothesis strategies for org snapshots, data scopes and roles. Needs the ``test`` extra.

Host test suites use them to drive their own adapters or policies with random but *valid*
organisations::

    from hypothesis import given, strategies as st
    from crmkit.testing.strategies import data_scopes, org_snapshots

    @given(st.data())
    def test_something(data):
        snapshot = data.draw(org_snapshots(max_departments=6, max_users=10, min_users=1))
        scope = data.draw(data_scopes(snapshot))
        ...

Validity guarantees of :func:`org_snapshots`:

- exactly one top unit (``parent_id is None``); every other unit's parent is a unit created
  before it, so the department tree has no cycle and every unit reaches the top;
- every member belongs to an existing unit; a member's supervisor is ``None`` or a member created
  before them, so the supervisor forest has no cycle;
- ids are unique per kind but do not reveal creation order, and ``units``/``members`` are
  shuffled, so code under test cannot rely on parents or supervisors being listed first;
- ids look like ``d3`` (departments) and ``u7`` (users), or sometimes plain numbers for both
  kinds, so a user id may equal a department id as with per-table autoincrement keys.

Strategies taking a ``snapshot`` only draw department and user ids from that snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from crmkit.entities import (
    SUPER_ADMIN_CODE,
    CustomDepartment,
    DataScope,
    Module,
    Operation,
    OrgMember,
    OrgSnapshot,
    OrgUnit,
    Role,
    ScopeLevel,
)

__all__ = [
    "DEFAULT_ROLE_MODULES",
    "custom_departments",
    "data_scopes",
    "member_ids",
    "org_snapshots",
    "roles",
    "scope_levels",
    "unit_ids",
]

#: Modules :func:`roles` grants scopes and permissions on unless told otherwise.
DEFAULT_ROLE_MODULES: tuple[Module, ...] = (
    Module.LEADS,
    Module.CUSTOMERS,
    Module.CONTACTS,
    Module.OPPORTUNITIES,
)

_OPERATIONS = tuple(Operation)


def scope_levels() -> st.SearchStrategy[ScopeLevel]:
    """Any data-scope level, CUSTOM and ALL included."""
    return st.sampled_from(tuple(ScopeLevel))


@st.composite
def _org_snapshots(
    draw: st.DrawFn,
    min_departments: int,
    max_departments: int,
    min_users: int,
    max_users: int,
) -> OrgSnapshot:
    # Sometimes plain numbers for both tables (like autoincrement keys), so a user id can equal a
    # department id: code under test must not mix the two namespaces.
    numeric = draw(st.booleans(), label="numeric ids")
    unit_prefix, user_prefix = ("", "") if numeric else ("d", "u")
    n_units = draw(st.integers(min_departments, max_departments), label="departments")
    unit_names = draw(st.permutations([f"{unit_prefix}{k}" for k in range(n_units)]))
    # Integer draws (index into the earlier units/users) rather than sampled_from over slices:
    # hypothesis caches integers() strategies, which keeps generation cheap.
    units: list[OrgUnit] = [OrgUnit(unit_names[0], None)]
    for position in range(1, n_units):
        parent = unit_names[draw(st.integers(0, position - 1))]  # shrinks towards the top
        units.append(OrgUnit(unit_names[position], parent))

    n_users = draw(st.integers(min_users, max_users), label="users")
    user_names = draw(st.permutations([f"{user_prefix}{k}" for k in range(n_users)]))
    members: list[OrgMember] = []
    for position in range(n_users):
        department = unit_names[draw(st.integers(0, n_units - 1))]
        boss = draw(st.integers(0, position))  # 0: no supervisor (shrinks towards it)
        supervisor = user_names[boss - 1] if boss else None
        active = draw(st.integers(0, 4)) != 4  # mostly active; shrinks towards active
        members.append(OrgMember(user_names[position], department, supervisor, active))

    return OrgSnapshot(
        version=draw(st.integers(1, 10**6), label="version"),
        units=tuple(draw(st.permutations(units))),
        members=tuple(draw(st.permutations(members))),
    )


def org_snapshots(
    *,
    max_departments: int = 8,
    max_users: int = 12,
    min_departments: int = 1,
    min_users: int = 0,
) -> st.SearchStrategy[OrgSnapshot]:
    """A random valid :class:`OrgSnapshot` (see the module docstring for the guarantees).

    ``min_users=1`` guarantees a member to use as the viewer.
    """
    if not 1 <= min_departments <= max_departments:
        raise ValueError("need 1 <= min_departments <= max_departments")
    if not 0 <= min_users <= max_users:
        raise ValueError("need 0 <= min_users <= max_users")
    return _org_snapshots(min_departments, max_departments, min_users, max_users)


def unit_ids(snapshot: OrgSnapshot) -> st.SearchStrategy[str]:
    """The id of one of the snapshot's departments."""
    return st.sampled_from(tuple(sorted(u.id for u in snapshot.units)))


def member_ids(snapshot: OrgSnapshot) -> st.SearchStrategy[str]:
    """The id of one of the snapshot's members (the snapshot must have at least one)."""
    if not snapshot.members:
        raise ValueError("the snapshot has no members")
    return st.sampled_from(tuple(sorted(m.id for m in snapshot.members)))


def custom_departments(snapshot: OrgSnapshot) -> st.SearchStrategy[CustomDepartment]:
    """One CUSTOM-scope department entry: a snapshot department, with or without its children."""
    return st.builds(CustomDepartment, unit_ids(snapshot), st.booleans())


# The composites below draw integer indexes into tuples of ids: hypothesis caches integers(),
# lists() and tuples() strategies by their arguments, so a draw builds (and validates) no fresh
# strategy objects, which keeps property tests over many random orgs fast.


def _ids(snapshot: OrgSnapshot) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(sorted(u.id for u in snapshot.units)), tuple(
        sorted(m.id for m in snapshot.members)
    )


@st.composite
def _data_scopes(
    draw: st.DrawFn,
    levels: tuple[ScopeLevel, ...],
    units: tuple[str, ...],
    members: tuple[str, ...],
) -> DataScope:
    level = levels[draw(st.integers(0, len(levels) - 1))]
    if level is not ScopeLevel.CUSTOM:
        return DataScope(level)
    picked = draw(st.lists(st.tuples(st.integers(0, len(units) - 1), st.booleans()), max_size=4))
    departments = frozenset(CustomDepartment(units[i], children) for i, children in picked)
    users: frozenset[str] = frozenset()
    if members:
        users = frozenset(
            members[i] for i in draw(st.lists(st.integers(0, len(members) - 1), max_size=4))
        )
    return DataScope(level, departments=departments, users=users)


def data_scopes(
    snapshot: OrgSnapshot, *, levels: Sequence[ScopeLevel] | None = None
) -> st.SearchStrategy[DataScope]:
    """A data scope of any level (or one of ``levels``); CUSTOM draws departments (each with or
    without children) and users from ``snapshot``. Other levels carry no departments or users,
    as the entity expects. Shrinks towards SELF."""
    chosen = tuple(levels) if levels is not None else tuple(ScopeLevel)
    if not chosen:
        raise ValueError("levels must not be empty")
    return _data_scopes(chosen, *_ids(snapshot))


@st.composite
def _roles(
    draw: st.DrawFn,
    modules: tuple[Module, ...],
    scopes_of: st.SearchStrategy[DataScope],
    allow_super_admin: bool,
) -> Role:
    role_id = f"r{draw(st.integers(0, 10**6), label='role id')}"
    # "Occasionally" the built-in 超级管理员; the draw shrinks towards an ordinary role.
    if allow_super_admin and draw(st.integers(0, 9)) == 9:
        return Role(role_id, "超级管理员", code=SUPER_ADMIN_CODE)
    granted = draw(st.lists(st.sampled_from(modules), unique=True, max_size=len(modules)))
    scopes: dict[Module, DataScope] = {module: draw(scopes_of) for module in granted}
    permissions: dict[Module, frozenset[Operation]] = {
        module: draw(st.frozensets(st.sampled_from(_OPERATIONS), max_size=5)) for module in granted
    }
    return Role(role_id, f"角色{role_id}", permissions=permissions, scopes=scopes)


def roles(
    snapshot: OrgSnapshot,
    *,
    modules: Sequence[Module] = DEFAULT_ROLE_MODULES,
    allow_super_admin: bool = True,
) -> st.SearchStrategy[Role]:
    """A role with random permissions and data scopes on a few of ``modules`` (possibly none).

    About one draw in ten is the built-in 超级管理员 (``code=SUPER_ADMIN_CODE``) unless
    ``allow_super_admin`` is False. Role ids look like ``r42`` and are not guaranteed unique.
    """
    chosen = tuple(modules)
    if not chosen:
        raise ValueError("modules must not be empty")
    return _roles(chosen, data_scopes(snapshot), allow_super_admin)
