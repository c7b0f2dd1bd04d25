"""Stevora's data layer: tables, the state machine, transitions and migrations."""

from models.approvals import ApprovalRequest
from models.concurrency import ConcurrencySlot
from models.definitions import WorkflowDefinition
from models.llm_calls import LlmCall
from models.runs import RunEvent, StepRun, WorkflowRun
from models.schedules import Schedule
from models.signals import Signal
from models.webhooks import Webhook, WebhookAttempt, WebhookDelivery
from models.workspaces import ApiKey, Workspace

TABLES = (
    Workspace,
    ApiKey,
    WorkflowDefinition,
    WorkflowRun,
    StepRun,
    RunEvent,
    Signal,
    ApprovalRequest,
    LlmCall,
    Webhook,
    WebhookDelivery,
    WebhookAttempt,
    Schedule,
    ConcurrencySlot,
)

__all__ = [
    "TABLES",
    "ApiKey",
    "ApprovalRequest",
    "ConcurrencySlot",
    "LlmCall",
    "RunEvent",
    "Schedule",
    "Signal",
    "StepRun",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WorkflowDefinition",
    "WorkflowRun",
    "Workspace",
]
