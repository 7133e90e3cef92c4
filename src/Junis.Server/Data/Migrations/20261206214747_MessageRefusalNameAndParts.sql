BEGIN TRANSACTION;
ALTER TABLE "SessionMessages" ADD "Name" TEXT NULL;

ALTER TABLE "SessionMessages" ADD "Parts" TEXT NULL;

ALTER TABLE "SessionMessages" ADD "Refusal" TEXT NULL;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261206214747_MessageRefusalNameAndParts', '10.0.15');

COMMIT;

