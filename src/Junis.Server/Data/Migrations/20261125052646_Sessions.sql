BEGIN TRANSACTION;
CREATE TABLE "Sessions" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_Sessions" PRIMARY KEY,
    "OrganizationId" TEXT NOT NULL,
    "ApiKeyId" TEXT NULL,
    "ConversationId" TEXT NULL,
    "UserId" TEXT NULL,
    "TranscriptHash" BLOB NOT NULL,
    "TurnStartHash" BLOB NOT NULL,
    "TurnInputHash" BLOB NOT NULL,
    "UserTurnsHash" BLOB NOT NULL,
    "CreatedAt" TEXT NOT NULL,
    "LastUpdateAt" TEXT NOT NULL,
    "EndedAt" TEXT NULL,
    "MessageCount" INTEGER NOT NULL,
    "LastTurnStart" INTEGER NOT NULL,
    "LastReplySequence" INTEGER NOT NULL,
    "PromptTokens" INTEGER NOT NULL,
    "CompletionTokens" INTEGER NOT NULL,
    CONSTRAINT "FK_Sessions_Organizations_OrganizationId" FOREIGN KEY ("OrganizationId") REFERENCES "Organizations" ("Id") ON DELETE CASCADE
);

CREATE TABLE "SessionMessages" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_SessionMessages" PRIMARY KEY AUTOINCREMENT,
    "SessionId" TEXT NOT NULL,
    "Sequence" INTEGER NOT NULL,
    "Role" TEXT NOT NULL,
    "Content" TEXT NULL,
    "ToolCalls" TEXT NULL,
    "ToolCallId" TEXT NULL,
    "FinishReason" TEXT NULL,
    "PromptTokens" INTEGER NULL,
    "CompletionTokens" INTEGER NULL,
    "Interrupted" INTEGER NOT NULL,
    "CreatedAt" TEXT NOT NULL,
    CONSTRAINT "FK_SessionMessages_Sessions_SessionId" FOREIGN KEY ("SessionId") REFERENCES "Sessions" ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_SessionMessages_SessionId_Sequence" ON "SessionMessages" ("SessionId", "Sequence");

CREATE UNIQUE INDEX "IX_Sessions_OrganizationId_ConversationId" ON "Sessions" ("OrganizationId", "ConversationId");

CREATE INDEX "IX_Sessions_OrganizationId_LastUpdateAt" ON "Sessions" ("OrganizationId", "LastUpdateAt");

CREATE INDEX "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt" ON "Sessions" ("OrganizationId", "TranscriptHash", "LastUpdateAt");

CREATE INDEX "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt" ON "Sessions" ("OrganizationId", "TurnInputHash", "LastUpdateAt");

CREATE INDEX "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt" ON "Sessions" ("OrganizationId", "UserTurnsHash", "LastUpdateAt");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261125052646_Sessions', '10.0.15');

COMMIT;

