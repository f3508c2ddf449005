"""The demo bot's longer texts, kept apart so the bot's logic reads without scrolling."""

HELP = """Here's everything I can do — type any of these:
• hi / menu — the main menu with buttons
• products (or cards) — a carousel of products; square cards — the same with square pictures
• media — pick a media type; image, audio, video, file — a sample of each
• agent — a human agent takes over (with a private note first)
• burst — 5 messages at once
• slow — a reply that takes a few seconds
• unknown, location — message types a console may not know
• long, emoji, rtl — text stress tests (2,000 characters, emoji, Arabic and Hebrew)
• links — buttons that open a website or call a phone number
• xss — hostile HTML that must show up as plain text
• fault <name> [count] [delay] — break the next replies on purpose: bad_signature, duplicate, \
late, out_of_order, drop, hallucinate; fault off to stop
Ask me about the shop in your own words — opening hours, shipping, returns, what we sell — and I answer \
like an AI bot, worded a little differently each time (seed N replays the same wording; fault hallucinate \
makes 1 answer in 3 up).
Send me a picture, a voice note, a video or a file and I'll send it straight back."""

INFO = {
    "ESPRESSO": "Roasted every Monday in small batches; great as espresso or in a moka pot.",
    "COLDBREW": "Steep overnight in the fridge, strain in the morning, and you have a week of cold brew.",
    "MUG": "Dishwasher safe, leak-proof lid, fits every car cup holder we have tried.",
}

CHECKOUT = ("This is a demo, so no coffee will ship 😉 In a real bot this is where the payment link "
            "or the order summary would go.")
ORDER_PLACED = "✅ Order #NW-1042 placed: thank you for shopping with Northwind Coffee! (A demo: nothing ships.)"

BURST = (
    "1/5 Order received ✅",
    "2/5 Payment confirmed 💳",
    "3/5 Our barista is on it ☕",
    "4/5 Out for delivery 🚲",
    "5/5 Delivered — enjoy! 🎉",
)

_SECTIONS = (
    "How we choose our beans. Every lot we buy is cupped three times: at the farm, when the "
    "samples arrive, and again after the first roast. Only coffees that score above 85 points in "
    "all three rounds make it onto the menu, which is why the list changes with the seasons.",
    "Who grows them. We work with eleven farms in Colombia, Ethiopia, Guatemala and Papua New "
    "Guinea. We pay a fixed premium above the market price, agreed a year in advance, so the "
    "growers can plan their harvest instead of gambling on the exchange rate.",
    "How we roast. Small batches of 12 kg, roasted on Mondays and Thursdays, rested for four days "
    "before they are packed. Espresso roasts go a little darker; filter roasts stay light so the "
    "fruit comes through.",
    "Freshness. Every bag carries its roast date. Beans taste best between one and five weeks "
    "after roasting; after that we donate them to a local shelter rather than sell them stale.",
    "Brewing tips. Use 60 g of coffee per litre of water, water just off the boil (about 94 °C), "
    "and a grind that matches your brewer: fine for espresso, medium for drip, coarse for French "
    "press and cold brew. Weigh rather than scoop: it is the single biggest improvement at home.",
    "Storage. Keep beans in the bag they came in, valve up, in a cool and dark cupboard. The "
    "fridge is the worst place for them: every time the door opens, moisture condenses on the "
    "beans and the aromas fade. Freeze only what you will not open within a month.",
    "Delivery. Orders placed before noon leave the roastery the same day. Metro deliveries "
    "arrive the next morning by bike courier; everywhere else takes two to four working days "
    "with a tracking link sent to you here in the chat.",
    "Returns. If a coffee is not to your taste, tell us within 30 days and we will swap it for "
    "another one, no questions asked. Equipment can be returned unused within 14 days.",
)
LONG = "Our coffee, the long version (this message is about 2,000 characters long):\n\n" + "\n\n".join(
    f"{number}. {section}" for number, section in enumerate(_SECTIONS, start=1))

EMOJI = ("☕️🥐 Good morning! Today's specials: 🍫 mocha, 🍓 berry cold brew and 🥛 oat flat white. "
         "Thumbs in every tone: 👍🏻👍🏽👍🏿 · family 👨‍👩‍👧‍👦 · flags 🇦🇺🇧🇷🇯🇵 · "
         "keycap 1️⃣ · hearts ❤️🧡💛💚💙💜 · newer ones 🫶🫠🪿")

RTL = ("مرحبا! كيف يمكنني مساعدتك اليوم؟ قهوتنا طازجة كل يوم ☕\n"
       "שלום! איך אפשר לעזור היום? הקפה שלנו טרי בכל בוקר.\n"
       "Mixed: order #1234 — طلب رقم 1234 — הזמנה מספר 1234.")

XSS_TEXT = ("Security check 🔒 This message contains <script>alert(1)</script> and "
            "<img src=x onerror=alert(1)>. If you can read both tags as plain text and no alert "
            "popped up, the console renders bot messages safely.")
XSS_BUTTONS_TEXT = "<b>Not bold</b> — and the first button below points to javascript:alert(1):"

FAULT_USAGE = ("Usage: fault <name> [count] [delay], where name is bad_signature, duplicate, late, "
               "out_of_order, drop or hallucinate — e.g. fault duplicate 2, or fault late 1 8. Type fault off to stop.")
FAULT_EFFECTS = {
    "bad_signature": "will be signed with the wrong key (your webhook should reject it with 401)",
    "duplicate": "will be delivered twice, byte for byte",
    "late": "will arrive {delay} s late, after the replies that follow it",
    "out_of_order": "with several messages (try burst) will be sent in reverse order",
    "drop": "will never be sent",
    "hallucinate": "to questions about the shop will be made up 1 time in 3 (wrong facts in other words)",
}
SEED_USAGE = "Usage: seed N, where N is a whole number (0 or more) — e.g. seed 7. Type seed alone to see the seed."
