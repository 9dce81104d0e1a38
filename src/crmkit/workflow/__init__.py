"""Use cases: the facade and one service per module. Talks to infrastructure through ports."""

from crmkit.workflow.facade import CRMFacade
from crmkit.workflow.org import HandOverParticipant, OrgService
from crmkit.workflow.org_inputs import (
    HandOverReport,
    NewDepartment,
    NewRole,
    NewUser,
    RoleChanges,
    UserChanges,
)
from crmkit.workflow.runtime import ActorRef, Op, Runtime

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
