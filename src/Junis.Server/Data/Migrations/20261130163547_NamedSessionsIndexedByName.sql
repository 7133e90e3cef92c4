BEGIN TRANSACTION;
DROP INDEX "IX_Sessions_OrganizationId_ConversationId";

DROP INDEX "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt";

DROP INDEX "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt";

DROP INDEX "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt";

CREATE UNIQUE INDEX "IX_Sessions_OrganizationId_ConversationId" ON "Sessions" ("OrganizationId", "ConversationId") WHERE "ConversationId" IS NOT NULL;

CREATE INDEX "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt" ON "Sessions" ("OrganizationId", "TranscriptHash", "LastUpdateAt") WHERE "ConversationId" IS NULL;

CREATE INDEX "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt" ON "Sessions" ("OrganizationId", "TurnInputHash", "LastUpdateAt") WHERE "ConversationId" IS NULL;

CREATE INDEX "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt" ON "Sessions" ("OrganizationId", "UserTurnsHash", "LastUpdateAt") WHERE "ConversationId" IS NULL;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261130163547_NamedSessionsIndexedByName', '10.0.15');

COMMIT;

