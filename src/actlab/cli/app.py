"""The typer application objects every command module registers on."""

import typer

app = typer.Typer(
    name="actlab",
    help="Exact, verified answers about small neural networks: gradient regions, "
    "backpropagation, training, certified optimal adversarial examples, JumpReLU.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

xor_app = typer.Typer(help="The homework's 2-2-1 XOR network: trace, verify, train.",
                      no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(xor_app, name="xor")

JSON_HELP = "Print exactly one JSON document on stdout (the contract in DESIGN.md)."
