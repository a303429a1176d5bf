"""The application commands: ``/imagine``, ``/quota``, ``/accounts`` and the "Imagine from this image" menu."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.flow import ImagineFlow
from bot.core.models import PromptOptions
from bot.core.parsing import MAX_COUNT, MAX_SEED
from bot.i18n import translate

CONTEXT_MENU_NAME = "Imagine from this image"
MODAL_PROMPT_ID = "prompt"
MODAL_TIMEOUT_SECONDS = 15 * 60  # a modal the user closed is forgotten after this

#: the seed table's six ratios first, then common others; a ratio in the prompt text may be any from 1:4 to 4:1
RATIO_CHOICES = [
    app_commands.Choice(name=name, value=value)
    for value, name in (
        ("1:1", "1:1 square"),
        ("16:9", "16:9 widescreen"),
        ("9:16", "9:16 phone portrait"),
        ("3:2", "3:2 photo"),
        ("3:4", "3:4 portrait"),
        ("1:2", "1:2 tall"),
        ("2:3", "2:3 photo portrait"),
        ("4:3", "4:3 classic"),
        ("21:9", "21:9 cinema"),
    )
]

Seed = app_commands.Range[int, 0, MAX_SEED]
#: the core refuses more than MAX_IMAGES_PER_REQUEST with a sentence naming the cap
Count = app_commands.Range[int, 1, MAX_COUNT]


def model_choices(flow: ImagineFlow) -> list[app_commands.Choice[str]]:
    """The operator's models (``FLUX_MODELS``) by alias, the default first; Discord shows at most 25."""
    return [app_commands.Choice(name=alias, value=alias) for alias in flow.model_aliases[:25]]


class PromptModal(discord.ui.Modal):
    """Asks for the prompt; the images come from the message the menu was used on."""

    def __init__(self, flow: ImagineFlow, images: list[discord.Attachment], locale: str) -> None:
        super().__init__(title=translate("modal.title", locale)[:45], timeout=MODAL_TIMEOUT_SECONDS)
        self.flow = flow
        self.images = images
        self.prompt: discord.ui.TextInput[PromptModal] = discord.ui.TextInput(
            label=translate("modal.prompt_label", locale)[:45],
            placeholder=translate("modal.prompt_placeholder", locale)[:100],
            style=discord.TextStyle.paragraph,
            custom_id=MODAL_PROMPT_ID,
            max_length=4000,
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await self.flow.imagine(interaction, self.prompt.value, PromptOptions(), self.images)


def register_commands(tree: app_commands.CommandTree[Any], flow: ImagineFlow) -> None:
    """Add every command to ``tree``; each one only hands its input to ``flow``."""

    @tree.command(name="imagine", description="Make an image from a prompt (add a ratio like 16:9 or flags)")
    @app_commands.describe(
        prompt="What to draw. A ratio (16:9) or flags (--seed 42, --no text, --raw) may follow",
        ratio="Aspect ratio (wins over one written in the prompt)",
        image1="Reference image", image2="Reference image", image3="Reference image", image4="Reference image",
        seed="Seed, to repeat an image (0 to 4294967295)",
        raw="Use the prompt exactly as written (skip optimisation)",
        model="Which model draws it (the default is the bot's own choice)",
        n="How many images at once (each counts against your limits)",
    )  # fmt: skip
    @app_commands.choices(ratio=RATIO_CHOICES, model=model_choices(flow))
    async def imagine(
        interaction: discord.Interaction[Any],
        prompt: str,
        ratio: str | None = None,
        image1: discord.Attachment | None = None,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        seed: Seed | None = None,
        raw: bool = False,
        model: str | None = None,
        n: Count | None = None,
    ) -> None:
        images = [image for image in (image1, image2, image3, image4) if image is not None]
        options = PromptOptions(ratio=ratio, seed=seed, raw=raw, model=model, count=n)
        await flow.imagine(interaction, prompt, options, images)

    @tree.command(name="quota", description="How many images you have left today")
    async def quota(interaction: discord.Interaction[Any]) -> None:
        await flow.quota(interaction)

    @tree.command(name="accounts", description="Cloudflare accounts and today's usage (bot admins only)")
    async def accounts(interaction: discord.Interaction[Any]) -> None:
        await flow.accounts(interaction)

    async def show_modal(
        interaction: discord.Interaction[Any], images: list[discord.Attachment], locale: str
    ) -> None:
        await interaction.response.send_modal(PromptModal(flow, images, locale))

    @tree.context_menu(name=CONTEXT_MENU_NAME)
    async def imagine_from_image(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        await flow.imagine_from_message(interaction, message, show_modal)
