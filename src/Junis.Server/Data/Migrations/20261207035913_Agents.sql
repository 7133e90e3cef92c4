BEGIN TRANSACTION;
CREATE TABLE "Agents" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_Agents" PRIMARY KEY,
    "OrganizationId" TEXT NOT NULL,
    "Name" TEXT NOT NULL,
    "Description" TEXT NULL,
    "AgentType" TEXT NOT NULL,
    "Provider" TEXT NOT NULL,
    "Model" TEXT NULL,
    "Temperature" REAL NULL,
    "MaxOutputTokens" INTEGER NULL,
    "MaxLlmCalls" INTEGER NULL,
    "Instruction" TEXT NOT NULL,
    "SubAgents" TEXT NOT NULL,
    "OutputKey" TEXT NULL,
    "MaxIterations" INTEGER NULL,
    "IsActive" INTEGER NOT NULL,
    "IsOrchestrator" INTEGER NOT NULL,
    "CreatedAt" TEXT NOT NULL,
    "UpdatedAt" TEXT NOT NULL,
    CONSTRAINT "FK_Agents_Organizations_OrganizationId" FOREIGN KEY ("OrganizationId") REFERENCES "Organizations" ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_Agents_Orchestrator" ON "Agents" ("OrganizationId") WHERE "IsOrchestrator";

CREATE UNIQUE INDEX "IX_Agents_OrganizationId_Name" ON "Agents" ("OrganizationId", "Name");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207035913_Agents', '10.0.15');

COMMIT;

