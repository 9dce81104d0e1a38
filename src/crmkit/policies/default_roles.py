"""The roles a new organisation starts with: 超级管理员 plus common sales roles.

超级管理员 has every permission and ALL scope by definition (see :meth:`Role.grants`); its entry
here carries no explicit grants. The others are ordinary, editable roles.
"""

from __future__ import annotations

import attrs

from crmkit.entities import SUPER_ADMIN_CODE, DataScope, Module, Operation, ScopeLevel

Op = Operation
SALES_MODULES = (
    Module.LEADS,
    Module.CUSTOMERS,
    Module.CONTACTS,
    Module.OPPORTUNITIES,
    Module.CONTRACTS,
    Module.PAYMENTS,
    Module.FOLLOWUPS,
    Module.TASKS,
)
_REP_OPS = frozenset(
    {Op.VIEW, Op.CREATE, Op.EDIT, Op.EXPORT, Op.TRANSFER, Op.CONVERT, Op.PUT_INTO_POOL}
)
_MANAGER_OPS = _REP_OPS | {Op.DELETE, Op.IMPORT, Op.LOCK, Op.ASSIGN, Op.TEAM_MANAGE}
_CAMPAIGN_OPS = frozenset({Op.VIEW, Op.CREATE, Op.EDIT, Op.DELETE, Op.EXPORT, Op.TRANSFER})


@attrs.frozen
class RoleTemplate:
    code: str
    name: str
    description: str
    permissions: dict[Module, frozenset[Operation]]
    scopes: dict[Module, DataScope]


def _sales_role(
    code: str, name: str, description: str, ops: frozenset[Operation], level: ScopeLevel
) -> RoleTemplate:
    permissions = {m: ops for m in SALES_MODULES}
    pool_ops = {Op.VIEW, Op.CLAIM, Op.PUT_INTO_POOL}
    if Op.ASSIGN in ops:  # managers assign pool customers (as pool admins)
        pool_ops.add(Op.ASSIGN)
    permissions[Module.POOL] = frozenset(pool_ops)
    permissions[Module.PRODUCTS] = frozenset({Op.VIEW})
    permissions[Module.DASHBOARD] = frozenset({Op.VIEW, Op.EXPORT})  # export: reports
    permissions[Module.ORG] = frozenset({Op.VIEW})
    # Campaigns are the whole company's: every seller sees them (to name the campaign a lead
    # came from); managers plan, edit and close them.
    permissions[Module.CAMPAIGNS] = (_CAMPAIGN_OPS if Op.ASSIGN in ops
                                     else frozenset({Op.VIEW}))
    scopes = {m: DataScope(level) for m in (*SALES_MODULES, Module.DASHBOARD)}
    scopes[Module.PRODUCTS] = DataScope(ScopeLevel.ALL)  # the catalogue is everyone's
    scopes[Module.CAMPAIGNS] = DataScope(ScopeLevel.ALL)
    return RoleTemplate(code, name, description, permissions, scopes)


def default_role_templates() -> list[RoleTemplate]:
    """超级管理员, 销售经理 (department tree), 销售员 (self), 财务 (contracts and payments, all)."""
    finance_ops = frozenset({Op.VIEW, Op.CREATE, Op.EDIT, Op.EXPORT})
    return [
        RoleTemplate(SUPER_ADMIN_CODE, "超级管理员", "Every permission, all data", {}, {}),
        _sales_role(
            "sales_manager", "销售经理", "Sales manager: own department tree", _MANAGER_OPS,
            ScopeLevel.DEPARTMENT_TREE,
        ),
        _sales_role("sales_rep", "销售员", "Sales representative: own records", _REP_OPS,
                    ScopeLevel.SELF),
        RoleTemplate(
            "finance",
            "财务",
            "Finance: contracts and payments of everyone",
            {
                Module.CONTRACTS: finance_ops,
                Module.PAYMENTS: finance_ops,
                Module.CUSTOMERS: frozenset({Op.VIEW}),
                Module.DASHBOARD: frozenset({Op.VIEW, Op.EXPORT}),
                Module.ORG: frozenset({Op.VIEW}),
            },
            {
                Module.CONTRACTS: DataScope(ScopeLevel.ALL),
                Module.PAYMENTS: DataScope(ScopeLevel.ALL),
                Module.CUSTOMERS: DataScope(ScopeLevel.ALL),
                Module.DASHBOARD: DataScope(ScopeLevel.ALL),
            },
        ),
    ]
