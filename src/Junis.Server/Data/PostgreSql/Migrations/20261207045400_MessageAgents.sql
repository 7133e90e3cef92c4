START TRANSACTION;
ALTER TABLE "SessionMessages" ADD "Agent" character varying(100);

ALTER TABLE "SessionMessages" ADD "AgentSteps" text;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207045400_MessageAgents', '10.0.15');

COMMIT;

