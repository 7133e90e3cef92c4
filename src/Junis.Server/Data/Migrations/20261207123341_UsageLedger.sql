BEGIN TRANSACTION;
CREATE TABLE "UsageRecords" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_UsageRecords" PRIMARY KEY AUTOINCREMENT,
    "OrganizationId" TEXT NOT NULL,
    "ApiKeyId" TEXT NOT NULL,
    "Agent" TEXT NULL,
    "Day" TEXT NOT NULL,
    "Requests" INTEGER NOT NULL,
    "Errors" INTEGER NOT NULL,
    "PromptTokens" INTEGER NOT NULL,
    "CompletionTokens" INTEGER NOT NULL,
    "FirstTokenMsTotal" INTEGER NOT NULL,
    "FirstTokenCount" INTEGER NOT NULL,
    "WrittenAt" TEXT NOT NULL
);

CREATE INDEX "IX_UsageRecords_OrganizationId_Day" ON "UsageRecords" ("OrganizationId", "Day");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207123341_UsageLedger', '10.0.15');

COMMIT;

