using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Junis.Server.Data.Migrations
{
    /// <inheritdoc />
    public partial class LimitWindows : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "LimitWindows",
                columns: table => new
                {
                    Counter = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    Start = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Count = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LimitWindows", x => new { x.Counter, x.Start });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "LimitWindows");
        }
    }
}
