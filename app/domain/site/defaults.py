"""The texts a municipality's public site shows until the office writes its own.

They are content, not interface, so they live here in each language rather than in
the translation catalogues. Each entry is (title, Markdown body); blocks have no title.
"""

from __future__ import annotations

from app.domain.site.accessibility import DEFAULT_STATEMENTS

DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "sv": {
        "start": (
            "Arbeta i valet",
            "Varje val behöver hundratals röstmottagare som tar emot rösterna i vallokalerna "
            "och i förtidsröstningen. Du får utbildning och arvode.\n\n"
            "[Läs mer om arbetet](work) eller [ansök direkt](apply).",
        ),
        "work": (
            "Så är det att arbeta i valet",
            "Som röstmottagare tar du emot väljare, kontrollerar röstkort och "
            "legitimation och räknar rösterna när vallokalen stänger.\n\n"
            "* Du ska vara minst 18 år på valdagen.\n"
            "* Du får inte vara kandidat i valet.\n"
            "* Du går en obligatorisk utbildning före valet.\n"
            "* Du behöver kunna nås via e-post och mobiltelefon.",
        ),
        "faq": (
            "Vanliga frågor",
            "**Måste jag ha arbetat i ett val förut?**\nNej. Alla får utbildning.\n\n"
            "**Kan jag välja vallokal?**\nDu kan önska valdistrikt; vi försöker "
            "uppfylla önskemålen.\n\n"
            "**Hur får jag besked?**\nVi hör av oss via e-post, och senare via sms.",
        ),
        "pay": (
            "Arvode och utbildning",
            "Arvodet beslutas av valnämnden. Utbildningen är obligatorisk och hålls "
            "några veckor före valet.",
        ),
        "privacy": (
            "Integritetsmeddelande",
            "Kommunens valnämnd behandlar uppgifterna i din ansökan för att rekrytera "
            "och bemanna röstmottagare. Den rättsliga grunden är allmänt intresse "
            "(valets genomförande).\n\n"
            "Ansökningar som inte leder till uppdrag raderas efter lagringstiden. Du har "
            "rätt att få veta vilka uppgifter vi har om dig, att få dem rättade och att "
            "få dem raderade. Länken i bekräftelsemejlet visar dina uppgifter.",
        ),
        "apply_intro": (
            "",
            "Fyll i formuläret för att anmäla intresse för att arbeta i valet. "
            "Fält markerade med * måste fyllas i.",
        ),
        "apply_done": (
            "",
            "Vi har tagit emot din ansökan och hör av oss när bemanningen planeras.",
        ),
        "contact_intro": ("", "Har du frågor om att arbeta i valet? Skriv till valkansliet."),
        "reply_rejected": (
            "",
            "Tack för din ansökan. Vi har tyvärr inte möjlighet att erbjuda dig ett "
            "uppdrag den här gången.",
        ),
        "reply_more_info": (
            "",
            "Tack för din ansökan. Vi behöver veta lite mer innan vi kan gå vidare:",
        ),
        "what_to_bring": (
            "",
            "Ta med legitimation, ditt förordnande, mat och dryck för hela passet och "
            "gärna en egen penna. Kom i god tid före passets början.",
        ),
    },
    "da": {
        "start": (
            "Arbejd ved valget",
            "Hvert valg har brug for hundredvis af valgtilforordnede, der tager imod "
            "vælgerne på afstemningsstederne og ved brevstemmeafgivningen. Du får "
            "undervisning og honorar.\n\n"
            "[Læs mere om arbejdet](work) eller [ansøg med det samme](apply).",
        ),
        "work": (
            "Sådan er det at arbejde ved valget",
            "Som valgtilforordnet tager du imod vælgerne, kontrollerer valgkort og "
            "legitimation og tæller stemmerne op, når afstemningsstedet lukker.\n\n"
            "* Du skal være fyldt 18 år på valgdagen.\n"
            "* Du må ikke være kandidat ved valget.\n"
            "* Du deltager i obligatorisk undervisning før valget.\n"
            "* Du skal kunne kontaktes via e-mail og mobiltelefon.",
        ),
        "faq": (
            "Ofte stillede spørgsmål",
            "**Skal jeg have arbejdet ved et valg før?**\nNej. Alle får undervisning.\n\n"
            "**Kan jeg vælge afstemningssted?**\nDu kan ønske afstemningsområder; vi "
            "forsøger at opfylde ønskerne.\n\n"
            "**Hvordan får jeg besked?**\nVi kontakter dig via e-mail og senere via sms.",
        ),
        "pay": (
            "Honorar og undervisning",
            "Honoraret fastsættes af valgbestyrelsen. Undervisningen er obligatorisk og "
            "holdes nogle uger før valget.",
        ),
        "privacy": (
            "Privatlivserklæring",
            "Kommunens valgbestyrelse behandler oplysningerne i din ansøgning for at "
            "rekruttere valgtilforordnede. Retsgrundlaget er varetagelse af en opgave i "
            "samfundets interesse (valgets afholdelse).\n\n"
            "Ansøgninger, der ikke fører til et hverv, slettes efter opbevaringsperioden. "
            "Du har ret til indsigt, berigtigelse og sletning. Linket i "
            "bekræftelsesmailen viser dine oplysninger.",
        ),
        "apply_intro": (
            "",
            "Udfyld formularen for at melde dig som valgtilforordnet. Felter markeret "
            "med * skal udfyldes.",
        ),
        "apply_done": (
            "",
            "Vi har modtaget din ansøgning og kontakter dig, når bemandingen planlægges.",
        ),
        "contact_intro": (
            "",
            "Har du spørgsmål om at arbejde ved valget? Skriv til valgsekretariatet.",
        ),
        "reply_rejected": (
            "",
            "Tak for din ansøgning. Vi kan desværre ikke tilbyde dig et hverv denne gang.",
        ),
        "reply_more_info": (
            "",
            "Tak for din ansøgning. Vi har brug for lidt flere oplysninger, før vi kan gå videre:",
        ),
        "what_to_bring": (
            "",
            "Medbring legitimation, din beskikkelse, mad og drikke til hele vagten og "
            "gerne en kuglepen. Mød i god tid før vagten begynder.",
        ),
    },
    "en": {
        "start": (
            "Work in the election",
            "Every election needs hundreds of poll clerks to receive voters at the "
            "polling stations and in advance voting. You get training and a fee.\n\n"
            "[Read more about the work](work) or [apply now](apply).",
        ),
        "work": (
            "What working in the election is like",
            "As a poll clerk you receive voters, check voting cards and identity, and "
            "count the votes when the station closes.\n\n"
            "* You must be 18 or older on election day.\n"
            "* You may not be a candidate in the election.\n"
            "* You take a mandatory training course before the election.\n"
            "* You must be reachable by email and mobile phone.",
        ),
        "faq": (
            "Frequently asked questions",
            "**Must I have worked in an election before?**\nNo. Everyone is trained.\n\n"
            "**Can I choose my polling station?**\nYou can name districts you prefer; we "
            "try to meet the wishes.\n\n"
            "**How will I hear from you?**\nBy email, and later by text message.",
        ),
        "pay": (
            "Pay and training",
            "The election committee sets the fees. Training is mandatory and is held a "
            "few weeks before the election.",
        ),
        "privacy": (
            "Privacy notice",
            "The municipality's election committee processes the details in your "
            "application to recruit and staff poll clerks. The legal basis is a task in "
            "the public interest (holding the election).\n\n"
            "Applications that do not lead to an appointment are erased after the "
            "retention period. You have the right to see, correct and erase your data. "
            "The link in the confirmation email shows your data.",
        ),
        "apply_intro": (
            "",
            "Fill in the form to apply to work in the election. Fields marked * are required.",
        ),
        "apply_done": (
            "",
            "We have received your application and will be in touch when staffing is planned.",
        ),
        "contact_intro": ("", "Questions about working in the election? Write to the office."),
        "reply_rejected": (
            "",
            "Thank you for your application. Unfortunately we cannot offer you an "
            "assignment this time.",
        ),
        "reply_more_info": (
            "",
            "Thank you for your application. We need to know a little more before we can go on:",
        ),
        "what_to_bring": (
            "",
            "Bring proof of identity, your appointment, food and drink for the whole shift "
            "and a pen of your own. Arrive in good time before the shift starts.",
        ),
    },
}

# The accessibility statement's built-in text lives beside its fixed facts.
for _locale, _statement in DEFAULT_STATEMENTS.items():
    DEFAULTS[_locale]["accessibility"] = _statement
