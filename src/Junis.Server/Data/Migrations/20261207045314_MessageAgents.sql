BEGIN TRANSACTION;
ALTER TABLE "SessionMessages" ADD "Agent" TEXT NULL;

ALTER TABLE "SessionMessages" ADD "AgentSteps" TEXT NULL;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207045314_MessageAgents', '10.0.15');

COMMIT;

