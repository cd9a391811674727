# ruff: noqa: E501  (conversation texts read best unbroken)
"""The demo help desk's people and conversations: an online shop selling to Russian- and English-speaking customers."""

from __future__ import annotations

from dataclasses import dataclass, field

PASSWORD = "okno-demo-2026"
DOMAIN = "okno-demo.example.com"

TEAMS = [
    ("Поддержка", "Общие вопросы покупателей / general questions"),
    ("Delivery", "Shipping, couriers, lost parcels"),
    ("Billing", "Payments, refunds, invoices"),
    ("VIP", "Customers on the priority plan"),
]


@dataclass(frozen=True)
class Agent:
    email: str
    name: str
    role: str
    teams: tuple[str, ...]
    languages: tuple[str, ...]
    time_zone: str = "Europe/Moscow"
    locale: str = "ru"
    skills: tuple[str, ...] = ()
    # Routing capacities of their own (channel -> concurrent open conversations); others are defaults.
    capacities: tuple[tuple[str, int], ...] = ()


AGENTS = [
    Agent(f"admin@{DOMAIN}", "Алексей Смирнов", "admin", ("Поддержка",), ("ru", "en")),
    Agent(f"olga@{DOMAIN}", "Ольга Кузнецова", "supervisor", ("Поддержка", "VIP"), ("ru", "en")),
    Agent(
        f"ivan@{DOMAIN}",
        "Иван Петров",
        "agent",
        ("Поддержка", "Delivery"),
        ("ru",),
        skills=("доставка", "курьер"),
        capacities=(("chat", 4),),
    ),
    Agent(
        f"maria@{DOMAIN}",
        "Мария Волкова",
        "agent",
        ("Поддержка", "Billing"),
        ("ru", "en"),
        skills=("возврат", "оплата"),
        capacities=(("chat", 3), ("email", 12)),
    ),
    Agent(
        f"emma@{DOMAIN}",
        "Emma Clarke",
        "agent",
        ("Delivery", "VIP"),
        ("en",),
        "Europe/London",
        "en",
        skills=("customs", "international"),
        capacities=(("chat", 2), ("email", 8)),
    ),
    Agent(
        f"andrei@{DOMAIN}",
        "Andrei Popescu",
        "agent",
        ("Billing", "Delivery"),
        ("ro", "en", "ru"),
        "Europe/Bucharest",
        "en",
        skills=("invoice", "vat", "документы"),
    ),
    Agent(
        f"dmitry@{DOMAIN}",
        "Дмитрий Орлов",
        "agent",
        ("VIP", "Billing"),
        ("ru", "en"),
        skills=("api", "integration"),
        capacities=(("email", 15),),
    ),
    Agent(f"sveta@{DOMAIN}", "Светлана Морозова", "light_agent", ("Поддержка",), ("ru",)),
]

# How each team's conversations find an agent (routing policy, skill matching); others are routed by hand.
ROUTING = {
    "Delivery": ("least_loaded", "prefer"),
    "Billing": ("round_robin", "prefer"),
    "VIP": ("least_loaded", "strict"),
}

# name, email domains, plan, whether its people see each other's tickets
ORGANIZATIONS = [
    ("ООО «Ромашка»", ("romashka.example.com",), "standard", False),
    ("Acme Logistics", ("acme.example.com",), "priority", True),
    ("Северный ветер", ("veter.example.com",), "free", False),
    ("Bright Ideas Ltd", ("brightideas.example.com",), "priority", False),
    ("Кафе «Пышка»", ("pyshka.example.com",), "standard", False),
]

RUSSIAN_FIRST = [
    "Анна",
    "Борис",
    "Виктория",
    "Глеб",
    "Дарья",
    "Егор",
    "Жанна",
    "Захар",
    "Ирина",
    "Кирилл",
    "Людмила",
    "Максим",
    "Наталья",
    "Олег",
    "Полина",
    "Роман",
    "Софья",
    "Тимур",
    "Ульяна",
    "Фёдор",
]
RUSSIAN_LAST = [
    "Иванов",
    "Смирнов",
    "Соколов",
    "Попов",
    "Лебедев",
    "Козлов",
    "Новиков",
    "Морозов",
    "Павлов",
    "Семёнов",
    "Голубев",
    "Виноградов",
    "Богданов",
    "Воробьёв",
    "Фёдоров",
    "Михайлов",
]
ENGLISH_FIRST = [
    "Oliver",
    "Amelia",
    "Harry",
    "Isla",
    "Jack",
    "Ava",
    "George",
    "Mia",
    "Noah",
    "Grace",
    "Leo",
    "Chloe",
    "Oscar",
    "Lily",
    "Arthur",
    "Sophie",
]
ENGLISH_LAST = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Hughes",
    "Green",
    "Hall",
]
MAIL_DOMAINS = ["mail.example.com", "post.example.org", "inbox.example.net"]
TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "y",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "sch",
        "ы": "y",
        "э": "e",
        "ю": "yu",
        "я": "ya",
        "ь": "",
        "ъ": "",
    }
)

CUSTOM_FIELDS = [
    ("order_number", "Order number / Номер заказа", "text", ()),
    ("product", "Product / Товар", "select", ("shoes", "bags", "electronics", "gift card", "subscription")),
    ("refund_amount", "Refund amount, ₽", "number", ()),
]


@dataclass(frozen=True)
class Conversation:
    language: str
    team: str
    subject: str
    ask: str
    answer: str
    tags: tuple[str, ...] = ()
    follow_up: str = ""
    note: str = ""
    product: str = ""


CONVERSATIONS = [
    Conversation(
        "ru",
        "Delivery",
        "Где мой заказ?",
        "Здравствуйте! Заказ {order} оплачен неделю назад, а трек-номер до сих пор не работает. Подскажите, что с ним?",
        "{customer}, добрый день! Заказ {order} передан в службу доставки вчера, трек заработает в течение суток. Ожидаемая дата доставки — пятница.",
        ("доставка", "трек"),
        "Спасибо, трек появился!",
        "Склад задержал отгрузку на 5 дней — проверить партию.",
        "shoes",
    ),
    Conversation(
        "ru",
        "Billing",
        "Двойное списание",
        "Добрый вечер. С карты дважды списали оплату за заказ {order}. Верните, пожалуйста, лишнее.",
        "{customer}, приносим извинения! Второе списание — это блокировка банка, она снимется автоматически в течение 3 рабочих дней. Если нет — напишите, оформим возврат вручную.",
        ("оплата", "возврат"),
        "Прошло 5 дней, деньги так и не вернулись.",
        "Банк-эквайер подтвердил дубль, нужен ручной возврат.",
        "electronics",
    ),
    Conversation(
        "ru",
        "Поддержка",
        "Не могу войти в личный кабинет",
        "Не приходит код для входа на почту. Проверила спам — пусто.",
        "{customer}, отправили код повторно и проверили — адрес в профиле был с опечаткой, исправили. Попробуйте ещё раз, пожалуйста.",
        ("аккаунт", "вход"),
    ),
    Conversation(
        "ru",
        "Delivery",
        "Курьер не приехал",
        "Ждал курьера весь день, никто не приехал и не позвонил. Заказ {order}.",
        "{customer}, нам очень жаль. Курьерская служба перенесла доставку на завтра, с 10 до 14. Компенсируем доставку промокодом OKNO10.",
        ("доставка", "курьер", "компенсация"),
        "",
        "Третья жалоба на этого перевозчика за неделю.",
        "bags",
    ),
    Conversation(
        "ru",
        "Billing",
        "Нужен закрывающий документ",
        "Для бухгалтерии нужен счёт-фактура и акт по заказу {order}. ИНН в карточке компании.",
        "{customer}, документы сформированы и отправлены на почту бухгалтерии. Оригиналы придут почтой в течение недели.",
        ("документы", "юрлицо"),
    ),
    Conversation(
        "ru",
        "Поддержка",
        "Размер не подошёл",
        "Кроссовки малы на размер. Можно обменять на 43-й?",
        "{customer}, конечно! Оформили обмен: курьер заберёт пару и привезёт 43-й размер в одну поездку. Код обмена {order}-X.",
        ("обмен", "размер"),
        "Спасибо большое, очень быстро!",
        "",
        "shoes",
    ),
    Conversation(
        "ru",
        "VIP",
        "Срочно: подарок к празднику",
        "Заказывал подарочный сертификат на 10 000 ₽, а письмо с кодом не пришло. Нужно сегодня!",
        "{customer}, код сертификата отправили повторно и продублировали SMS. Приятного праздника!",
        ("сертификат", "срочно"),
        "",
        "VIP-клиент, третий заказ за месяц.",
        "gift card",
    ),
    Conversation(
        "ru",
        "Поддержка",
        "Как отменить подписку?",
        "Хочу отменить автопродление подписки, не нашла где это сделать.",
        "{customer}, отменили автопродление — подписка действует до конца оплаченного периода. Отменить можно и самостоятельно: Профиль → Подписка → Отменить.",
        ("подписка",),
        "",
        "",
        "subscription",
    ),
    Conversation(
        "ru",
        "Delivery",
        "Пришёл повреждённый товар",
        "Коробка мятая, у наушников треснул корпус. Фото прикладываю.",
        "{customer}, простите за это. Оформили замену, новые наушники отправим сегодня, повреждённые курьер заберёт при доставке.",
        ("брак", "замена"),
        "А старые точно заберут? Курьер ничего не знал.",
        "Проверить упаковку на складе №2.",
        "electronics",
    ),
    Conversation(
        "ru",
        "Billing",
        "Возврат за отменённый заказ",
        "Отменила заказ {order} через час после оплаты. Когда вернутся деньги?",
        "{customer}, возврат оформлен, деньги поступят на карту в течение 5–10 рабочих дней в зависимости от банка.",
        ("возврат",),
        "",
        "",
        "bags",
    ),
    Conversation(
        "ru",
        "Поддержка",
        "Промокод не применяется",
        "Промокод OKNO10 пишет «недействителен», хотя срок до конца месяца.",
        "{customer}, промокод не суммируется с распродажей — поэтому ошибка. Применили скидку к заказу вручную.",
        ("промокод",),
    ),
    Conversation(
        "ru",
        "VIP",
        "Персональный менеджер",
        "Мы оформили тариф «Приоритет». Кто наш персональный менеджер и как с ним связаться?",
        "{customer}, ваш менеджер — Ольга Кузнецова, прямой телефон в письме. Отвечаем в течение часа в рабочее время.",
        ("приоритет", "онбординг"),
    ),
    Conversation(
        "en",
        "Delivery",
        "Parcel stuck in customs",
        "Hi, my order {order} has been 'in customs' for 9 days. Is there anything I need to do?",
        "Hi {customer}, customs asked for the invoice, which we sent this morning. The parcel should be released within 2 working days.",
        ("customs", "delivery"),
        "Still stuck, it's been another week.",
        "Broker says HS code missing on invoice.",
        "electronics",
    ),
    Conversation(
        "en",
        "Billing",
        "Charged in the wrong currency",
        "I was charged in roubles instead of pounds and my bank added a fee. Can you help?",
        "Hi {customer}, sorry about that. We've refunded the bank fee and switched your account to GBP for future orders.",
        ("billing", "currency"),
    ),
    Conversation(
        "en",
        "Поддержка",
        "Password reset link expired",
        "The reset link says it expired, though I clicked it straight away.",
        "Hi {customer}, your mail provider pre-opens links, which used the token. We've sent a code you can type in instead.",
        ("account", "login"),
        "",
        "Known issue with link scanners; engineering ticket OKN-412.",
    ),
    Conversation(
        "en",
        "Delivery",
        "Wrong item delivered",
        "I ordered a black leather bag and received a brown one. Order {order}.",
        "Hi {customer}, apologies for the mix-up. The black bag ships today by express, and the courier will collect the brown one.",
        ("wrong-item", "exchange"),
        "Thanks, the right one arrived.",
        "",
        "bags",
    ),
    Conversation(
        "en",
        "VIP",
        "Bulk order for our team",
        "We'd like 40 pairs of running shoes for our company race next month. Is a discount possible?",
        "Hi {customer}, yes: 15% off for 40 pairs, with delivery to your office in one shipment. A quote is attached.",
        ("bulk", "sales"),
        "",
        "Priority plan; route future bulk requests to Dmitry.",
        "shoes",
    ),
    Conversation(
        "en",
        "Billing",
        "Invoice needs our VAT number",
        "Please reissue invoice for {order} with our VAT number GB123456789.",
        "Hi {customer}, the corrected invoice with your VAT number is attached.",
        ("invoice", "vat"),
    ),
    Conversation(
        "en",
        "Поддержка",
        "How do I change my delivery address?",
        "I'm moving next week. Can I change the address on an order that's already placed?",
        "Hi {customer}, as long as it hasn't shipped, yes: we've updated order {order} to the new address.",
        ("address",),
    ),
    Conversation(
        "en",
        "Delivery",
        "Courier left parcel outside",
        "The courier left my parcel by the door in the rain, and the box is soaked.",
        "Hi {customer}, that shouldn't have happened. We've reported it to the courier and sent a replacement.",
        ("courier", "complaint"),
        "The replacement was also left outside!",
        "Second complaint for this route, escalate to the carrier.",
    ),
    Conversation(
        "en",
        "Billing",
        "Subscription renewal question",
        "Will my subscription renew at the old price or the new one?",
        "Hi {customer}, existing subscribers keep the old price for the next 12 months.",
        ("subscription", "pricing"),
        "",
        "",
        "subscription",
    ),
    Conversation(
        "en",
        "VIP",
        "API access for our shop",
        "We integrate orders from our shop. Can we get an API token for our account?",
        "Hi {customer}, API access is part of the Priority plan. Your admin can create tokens under Settings → API.",
        ("api", "integration"),
    ),
    Conversation(
        "en",
        "Поддержка",
        "Gift wrapping",
        "Can you gift-wrap an order and hide the price on the receipt?",
        "Hi {customer}, yes: we've added gift wrapping to order {order} and the receipt will show no prices.",
        ("gift",),
        "",
        "",
        "gift card",
    ),
    Conversation(
        "en",
        "Delivery",
        "Delivery to Chișinău",
        "Do you deliver to Moldova? I'm in Chișinău.",
        "Hi {customer}, yes, we deliver to Moldova in 7–10 days; customs duties are included in the price.",
        ("international", "delivery"),
    ),
]


@dataclass
class Plan:
    """What happens to one demo ticket, decided up front so that reruns produce the same help desk."""

    conversation: Conversation
    customer_email: str
    channel: str
    priority: str
    final_status: str
    created_hours_ago: float
    cc: list[str] = field(default_factory=list)
    reopens: bool = False
    with_note: bool = False
