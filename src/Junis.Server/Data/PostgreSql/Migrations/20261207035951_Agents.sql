START TRANSACTION;
CREATE TABLE "Agents" (
    "Id" uuid NOT NULL,
    "OrganizationId" uuid NOT NULL,
    "Name" character varying(100) NOT NULL,
    "Description" character varying(1000),
    "AgentType" character varying(32) NOT NULL,
    "Provider" character varying(64) NOT NULL,
    "Model" character varying(200),
    "Temperature" double precision,
    "MaxOutputTokens" integer,
    "MaxLlmCalls" integer,
    "Instruction" text NOT NULL,
    "SubAgents" text NOT NULL,
    "OutputKey" character varying(100),
    "MaxIterations" integer,
    "IsActive" boolean NOT NULL,
    "IsOrchestrator" boolean NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_Agents" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_Agents_Organizations_OrganizationId" FOREIGN KEY ("OrganizationId") REFERENCES "Organizations" ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_Agents_Orchestrator" ON "Agents" ("OrganizationId") WHERE "IsOrchestrator";

CREATE UNIQUE INDEX "IX_Agents_OrganizationId_Name" ON "Agents" ("OrganizationId", "Name");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207035951_Agents', '10.0.15');

COMMIT;

