BEGIN TRANSACTION;
DROP INDEX "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt";

CREATE TABLE "ef_temp_Sessions" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_Sessions" PRIMARY KEY,
    "ApiKeyId" TEXT NULL,
    "CompletionTokens" INTEGER NOT NULL,
    "ConversationId" TEXT NULL,
    "CreatedAt" TEXT NOT NULL,
    "EndedAt" TEXT NULL,
    "LastReplySequence" INTEGER NOT NULL,
    "LastTurnStart" INTEGER NOT NULL,
    "LastUpdateAt" TEXT NOT NULL,
    "MessageCount" INTEGER NOT NULL,
    "OrganizationId" TEXT NOT NULL,
    "PromptTokens" INTEGER NOT NULL,
    "TranscriptHash" BLOB NOT NULL,
    "TurnInputHash" BLOB NOT NULL,
    "TurnStartHash" BLOB NOT NULL,
    "UserId" TEXT NULL,
    CONSTRAINT "FK_Sessions_Organizations_OrganizationId" FOREIGN KEY ("OrganizationId") REFERENCES "Organizations" ("Id") ON DELETE CASCADE
);

INSERT INTO "ef_temp_Sessions" ("Id", "ApiKeyId", "CompletionTokens", "ConversationId", "CreatedAt", "EndedAt", "LastReplySequence", "LastTurnStart", "LastUpdateAt", "MessageCount", "OrganizationId", "PromptTokens", "TranscriptHash", "TurnInputHash", "TurnStartHash", "UserId")
SELECT "Id", "ApiKeyId", "CompletionTokens", "ConversationId", "CreatedAt", "EndedAt", "LastReplySequence", "LastTurnStart", "LastUpdateAt", "MessageCount", "OrganizationId", "PromptTokens", "TranscriptHash", "TurnInputHash", "TurnStartHash", "UserId"
FROM "Sessions";

COMMIT;

PRAGMA foreign_keys = 0;

BEGIN TRANSACTION;
DROP TABLE "Sessions";

ALTER TABLE "ef_temp_Sessions" RENAME TO "Sessions";

COMMIT;

PRAGMA foreign_keys = 1;

BEGIN TRANSACTION;
CREATE UNIQUE INDEX "IX_Sessions_OrganizationId_ConversationId" ON "Sessions" ("OrganizationId", "ConversationId") WHERE "ConversationId" IS NOT NULL;

CREATE INDEX "IX_Sessions_OrganizationId_LastUpdateAt" ON "Sessions" ("OrganizationId", "LastUpdateAt");

CREATE INDEX "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt" ON "Sessions" ("OrganizationId", "TranscriptHash", "LastUpdateAt") WHERE "ConversationId" IS NULL;

CREATE INDEX "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt" ON "Sessions" ("OrganizationId", "TurnInputHash", "LastUpdateAt") WHERE "ConversationId" IS NULL;

COMMIT;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207184905_DropUserTurnsHash', '10.0.15');

