"""The pages (`duban web`): the unit portal and the office console, over the same repo functions as the CLI."""
