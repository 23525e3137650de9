"""Every domain's tables, imported for Alembic's metadata."""

from __future__ import annotations

from sqlmodel import SQLModel

from app.access.models import Grant, Group, GroupMember, Restriction
from app.accounts.models import ApiToken, LoginFailure, LoginSession, User
from app.attachments.models import Attachment, AttachmentVersion
from app.audit.models import AuditEntry
from app.core.changes import DataVersion
from app.decisions.models import Decision, DecisionLink, DecisionPerson, DecisionVersion
from app.discussions.models import Comment, CommentVersion, Mention, Thread
from app.notifications.models import Notification, Watch
from app.pages.models import Draft, Page, PageLink, PageRedirect, RenderedRevision, Revision
from app.proposals.models import Proposal, ProposalChange, ProposalResponse, ProposalVersion
from app.reviews.models import PageOwner, PageStewardship, StewardshipEvent
from app.search.models import OutboxEvent
from app.sso.models import SsoLink
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.workshops.models import (
    AgendaItem,
    DotVote,
    Idea,
    IdeaCluster,
    Workshop,
    WorkshopMember,
)

metadata = SQLModel.metadata

__all__ = [
    "AgendaItem",
    "ApiToken",
    "Attachment",
    "AttachmentVersion",
    "AuditEntry",
    "Comment",
    "CommentVersion",
    "DataVersion",
    "Decision",
    "DecisionLink",
    "DecisionPerson",
    "DecisionVersion",
    "DotVote",
    "Draft",
    "Grant",
    "Group",
    "GroupMember",
    "Idea",
    "IdeaCluster",
    "LoginFailure",
    "LoginSession",
    "Mention",
    "Notification",
    "OutboxEvent",
    "Page",
    "PageLink",
    "PageOwner",
    "PageRedirect",
    "PageStewardship",
    "Proposal",
    "ProposalChange",
    "ProposalResponse",
    "ProposalVersion",
    "RenderedRevision",
    "Restriction",
    "Revision",
    "SsoLink",
    "StewardshipEvent",
    "Thread",
    "User",
    "Watch",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workshop",
    "WorkshopMember",
    "metadata",
]
