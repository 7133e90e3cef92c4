using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Junis.Server.Data.Migrations
{
    /// <inheritdoc />
    public partial class Sessions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Sessions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    OrganizationId = table.Column<Guid>(type: "TEXT", nullable: false),
                    ApiKeyId = table.Column<Guid>(type: "TEXT", nullable: true),
                    ConversationId = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    UserId = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    TranscriptHash = table.Column<byte[]>(type: "BLOB", maxLength: 32, nullable: false),
                    TurnStartHash = table.Column<byte[]>(type: "BLOB", maxLength: 32, nullable: false),
                    TurnInputHash = table.Column<byte[]>(type: "BLOB", maxLength: 32, nullable: false),
                    UserTurnsHash = table.Column<byte[]>(type: "BLOB", maxLength: 32, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastUpdateAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    EndedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    MessageCount = table.Column<int>(type: "INTEGER", nullable: false),
                    LastTurnStart = table.Column<int>(type: "INTEGER", nullable: false),
                    LastReplySequence = table.Column<int>(type: "INTEGER", nullable: false),
                    PromptTokens = table.Column<long>(type: "INTEGER", nullable: false),
                    CompletionTokens = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Sessions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Sessions_Organizations_OrganizationId",
                        column: x => x.OrganizationId,
                        principalTable: "Organizations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "SessionMessages",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    SessionId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Sequence = table.Column<int>(type: "INTEGER", nullable: false),
                    Role = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Content = table.Column<string>(type: "TEXT", nullable: true),
                    ToolCalls = table.Column<string>(type: "TEXT", nullable: true),
                    ToolCallId = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    FinishReason = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    PromptTokens = table.Column<int>(type: "INTEGER", nullable: true),
                    CompletionTokens = table.Column<int>(type: "INTEGER", nullable: true),
                    Interrupted = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_SessionMessages", x => x.Id);
                    table.ForeignKey(
                        name: "FK_SessionMessages_Sessions_SessionId",
                        column: x => x.SessionId,
                        principalTable: "Sessions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_SessionMessages_SessionId_Sequence",
                table: "SessionMessages",
                columns: new[] { "SessionId", "Sequence" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_ConversationId",
                table: "Sessions",
                columns: new[] { "OrganizationId", "ConversationId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "LastUpdateAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "TranscriptHash", "LastUpdateAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "TurnInputHash", "LastUpdateAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "UserTurnsHash", "LastUpdateAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "SessionMessages");

            migrationBuilder.DropTable(
                name: "Sessions");
        }
    }
}
