"""Use cases: the facade and one service per module. Talks to infrastructure through ports."""

from crmkit.workflow.facade import CRMFacade
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.org import HandOverParticipant, OrgService
from crmkit.workflow.org_inputs import (
    HandOverReport,
    NewDepartment,
    NewRole,
    NewUser,
    RoleChanges,
    UserChanges,
)

__all__ = [
    "ActorRef",
    "CRMFacade",
    "HandOverParticipant",
    "HandOverReport",
    "NewDepartment",
    "NewRole",
    "NewUser",
    "Op",
    "OrgService",
    "RoleChanges",
    "Runtime",
    "UserChanges",
]
