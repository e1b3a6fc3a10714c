"""The deploy rehearsal: `make rehearse` (docs/deploy.md, "Rehearse before you deploy")."""
