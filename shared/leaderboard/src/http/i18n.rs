//! Localized problem titles: the language a request asks for (`Accept-Language`, RFC 9110
//! § 12.5.4, matched by RFC 4647 lookup) and one message catalogue for every problem type.
//!
//! English is the default and the fallback. The machine-readable members of a problem (`type`,
//! `status`, extension members) never change with the language; `title` and `detail` follow it,
//! and the response says which language it chose (`Content-Language`). In another language than
//! English the `detail` is the problem type's sentence from the catalogue, and the occurrence's
//! own detail — built in English where the error is raised, with the request's values (ids,
//! numbers, field names) — goes beside it as `detail_en`.

/// A language the catalogue speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (the default).
    En,
    /// German.
    De,
    /// Spanish.
    Es,
    /// French.
    Fr,
    /// Japanese.
    Ja,
    /// Brazilian Portuguese (also what any `pt` asks for).
    PtBr,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 6] = [Lang::En, Lang::De, Lang::Es, Lang::Fr, Lang::Ja, Lang::PtBr];

    /// Its language tag (`Content-Language`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::Ja => "ja",
            Lang::PtBr => "pt-BR",
        }
    }

    /// The language a range names (`de`, `de-CH`, `pt`, `pt-PT`, `PT-br`…), if the catalogue
    /// has it: the primary subtag decides (Portuguese of any region is Brazilian Portuguese here).
    fn of_range(range: &str) -> Option<Lang> {
        let primary = range.split('-').next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            "es" => Some(Lang::Es),
            "fr" => Some(Lang::Fr),
            "ja" => Some(Lang::Ja),
            "pt" => Some(Lang::PtBr),
            _ => None,
        }
    }
}

/// The language for an `Accept-Language` header: the supported range with the highest weight
/// (the first listed among equals); `*`, nothing supported, no header or a malformed one:
/// English. A weight of 0 means "not this one".
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let Some(header) = accept_language else {
        return Lang::En;
    };
    let mut best: Option<(u16, Lang)> = None;
    for p in crate::negotiate::preferences(header) {
        if p.weight == 0 {
            continue;
        }
        let lang = if p.range == "*" {
            Some(Lang::En)
        } else {
            Lang::of_range(p.range)
        };
        if let Some(lang) = lang
            && best.is_none_or(|(w, _)| p.weight > w)
        {
            best = Some((p.weight, lang));
        }
    }
    best.map_or(Lang::En, |(_, lang)| lang)
}

/// The title of the problem type `slug` (`LeaderboardError::slug`) in `lang`; `None` for a
/// slug the catalogue does not know.
pub fn title(slug: &str, lang: Lang) -> Option<&'static str> {
    let [en, de, es, fr, ja, pt] = catalogue(slug)?;
    Some(match lang {
        Lang::En => en,
        Lang::De => de,
        Lang::Es => es,
        Lang::Fr => fr,
        Lang::Ja => ja,
        Lang::PtBr => pt,
    })
}

/// Every problem type's title: English, German, Spanish, French, Japanese, Brazilian Portuguese.
fn catalogue(slug: &str) -> Option<[&'static str; 6]> {
    Some(match slug {
        "invalid-id" => [
            "Invalid identifier",
            "Ungültige Kennung",
            "Identificador no válido",
            "Identifiant non valide",
            "無効な識別子",
            "Identificador inválido",
        ],
        "invalid-score" => [
            "Invalid score",
            "Ungültige Punktzahl",
            "Puntuación no válida",
            "Score non valide",
            "無効なスコア",
            "Pontuação inválida",
        ],
        "score-out-of-range" => [
            "Score out of range",
            "Punktzahl außerhalb des zulässigen Bereichs",
            "Puntuación fuera de rango",
            "Score hors limites",
            "スコアが範囲外です",
            "Pontuação fora do intervalo",
        ],
        "invalid-timestamp" => [
            "Invalid timestamp",
            "Ungültiger Zeitstempel",
            "Marca de tiempo no válida",
            "Horodatage non valide",
            "無効なタイムスタンプ",
            "Carimbo de data/hora inválido",
        ],
        "invalid-config" => [
            "Invalid board configuration",
            "Ungültige Bestenlisten-Konfiguration",
            "Configuración de clasificación no válida",
            "Configuration du classement non valide",
            "無効なリーダーボード設定",
            "Configuração de placar inválida",
        ],
        "encoding-capacity" => [
            "Board range exceeds sort-key capacity",
            "Wertebereich übersteigt die Kapazität des Sortierschlüssels",
            "El rango de la clasificación supera la capacidad de la clave de ordenación",
            "La plage du classement dépasse la capacité de la clé de tri",
            "リーダーボードの範囲がソートキーの容量を超えています",
            "O intervalo do placar excede a capacidade da chave de ordenação",
        ],
        "invalid-cursor" => [
            "Invalid cursor",
            "Ungültiger Cursor",
            "Cursor no válido",
            "Curseur non valide",
            "無効なカーソル",
            "Cursor inválido",
        ],
        "invalid-period" => [
            "Invalid period",
            "Ungültiger Zeitraum",
            "Periodo no válido",
            "Période non valide",
            "無効な期間",
            "Período inválido",
        ],
        "period-not-retained" => [
            "Period not retained",
            "Zeitraum nicht mehr gespeichert",
            "Periodo no conservado",
            "Période non conservée",
            "保持されていない期間",
            "Período não mantido",
        ],
        "board-not-found" => [
            "Board not found",
            "Bestenliste nicht gefunden",
            "Clasificación no encontrada",
            "Classement introuvable",
            "リーダーボードが見つかりません",
            "Placar não encontrado",
        ],
        "board-exists" => [
            "Board already exists",
            "Bestenliste existiert bereits",
            "La clasificación ya existe",
            "Le classement existe déjà",
            "リーダーボードは既に存在します",
            "O placar já existe",
        ],
        "player-not-found" => [
            "Player not found",
            "Spieler nicht gefunden",
            "Jugador no encontrado",
            "Joueur introuvable",
            "プレイヤーが見つかりません",
            "Jogador não encontrado",
        ],
        "invalid-event" => [
            "Invalid event",
            "Ungültiges Ereignis",
            "Evento no válido",
            "Événement non valide",
            "無効なイベント",
            "Evento inválido",
        ],
        "corrupt-data" => [
            "Corrupt stored data",
            "Beschädigte gespeicherte Daten",
            "Datos almacenados dañados",
            "Données stockées corrompues",
            "保存データが破損しています",
            "Dados armazenados corrompidos",
        ],
        "unauthorized" => [
            "Unauthorized",
            "Nicht authentifiziert",
            "No autenticado",
            "Non authentifié",
            "認証されていません",
            "Não autenticado",
        ],
        "forbidden" => [
            "Forbidden",
            "Zugriff verweigert",
            "Acceso denegado",
            "Accès refusé",
            "アクセスが拒否されました",
            "Acesso negado",
        ],
        "payload-too-large" => [
            "Payload too large",
            "Inhalt zu groß",
            "Contenido demasiado grande",
            "Contenu trop volumineux",
            "ペイロードが大きすぎます",
            "Conteúdo grande demais",
        ],
        "invalid-body" => [
            "Invalid request body",
            "Ungültiger Anfrageinhalt",
            "Cuerpo de la solicitud no válido",
            "Corps de requête non valide",
            "無効なリクエスト本文",
            "Corpo da requisição inválido",
        ],
        "rate-limited" => [
            "Too many requests",
            "Zu viele Anfragen",
            "Demasiadas solicitudes",
            "Trop de requêtes",
            "リクエストが多すぎます",
            "Requisições demais",
        ],
        "conflict" => [
            "Conflict",
            "Konflikt",
            "Conflicto",
            "Conflit",
            "競合",
            "Conflito",
        ],
        "precondition-failed" => [
            "Precondition failed",
            "Vorbedingung nicht erfüllt",
            "Falló la condición previa",
            "Échec de la précondition",
            "前提条件を満たしていません",
            "Falha na pré-condição",
        ],
        "quota-exceeded" => [
            "Quota exceeded",
            "Kontingent überschritten",
            "Cuota superada",
            "Quota dépassé",
            "クォータを超えました",
            "Cota excedida",
        ],
        "idempotency-in-progress" => [
            "Idempotency key in use",
            "Idempotenzschlüssel wird gerade verwendet",
            "Clave de idempotencia en uso",
            "Clé d’idempotence en cours d’utilisation",
            "冪等キーは使用中です",
            "Chave de idempotência em uso",
        ],
        "idempotency-mismatch" => [
            "Idempotency key reused",
            "Idempotenzschlüssel wiederverwendet",
            "Clave de idempotencia reutilizada",
            "Clé d’idempotence réutilisée",
            "冪等キーが再利用されました",
            "Chave de idempotência reutilizada",
        ],
        "unavailable" => [
            "Service unavailable",
            "Dienst nicht verfügbar",
            "Servicio no disponible",
            "Service indisponible",
            "サービスを利用できません",
            "Serviço indisponível",
        ],
        "invalid-webhook" => [
            "Invalid webhook subscription",
            "Ungültiges Webhook-Abonnement",
            "Suscripción de webhook no válida",
            "Abonnement webhook non valide",
            "無効な Webhook サブスクリプション",
            "Assinatura de webhook inválida",
        ],
        "tournament-closed" => [
            "Tournament closed",
            "Turnier geschlossen",
            "Torneo cerrado",
            "Tournoi fermé",
            "トーナメントは受付期間外です",
            "Torneio fechado",
        ],
        "tournament-full" => [
            "Tournament full",
            "Turnier voll",
            "Torneo completo",
            "Tournoi complet",
            "トーナメントは満員です",
            "Torneio lotado",
        ],
        "tournament-attempts-used" => [
            "Attempts used",
            "Versuche aufgebraucht",
            "Intentos agotados",
            "Tentatives épuisées",
            "挑戦回数の上限です",
            "Tentativas esgotadas",
        ],
        "tournament-not-joined" => [
            "Not joined",
            "Nicht beigetreten",
            "No inscrito",
            "Non inscrit",
            "未参加",
            "Não inscrito",
        ],
        "integrity-rejected" => [
            "Refused by an integrity rule",
            "Von einer Integritätsregel abgelehnt",
            "Rechazado por una regla de integridad",
            "Refusé par une règle d’intégrité",
            "整合性ルールにより拒否されました",
            "Recusado por uma regra de integridade",
        ],
        "not-found" => [
            "Not found",
            "Nicht gefunden",
            "No encontrado",
            "Introuvable",
            "見つかりません",
            "Não encontrado",
        ],
        "method-not-allowed" => [
            "Method not allowed",
            "Methode nicht erlaubt",
            "Método no permitido",
            "Méthode non autorisée",
            "許可されていないメソッドです",
            "Método não permitido",
        ],
        "unsupported-media-type" => [
            "Unsupported media type",
            "Nicht unterstützter Medientyp",
            "Tipo de medio no admitido",
            "Type de média non pris en charge",
            "サポートされていないメディアタイプです",
            "Tipo de mídia não suportado",
        ],
        "internal" => [
            "Internal error",
            "Interner Fehler",
            "Error interno",
            "Erreur interne",
            "内部エラー",
            "Erro interno",
        ],
        _ => return None,
    })
}

/// The detail of the problem type `slug` in `lang`, for a language other than English (an
/// English problem keeps the occurrence's own detail); `None` for English or an unknown slug.
pub fn detail(slug: &str, lang: Lang) -> Option<&'static str> {
    let [de, es, fr, ja, pt] = details(slug)?;
    match lang {
        Lang::En => None,
        Lang::De => Some(de),
        Lang::Es => Some(es),
        Lang::Fr => Some(fr),
        Lang::Ja => Some(ja),
        Lang::PtBr => Some(pt),
    }
}

/// Every problem type's detail sentence in German, Spanish, French, Japanese and Brazilian
/// Portuguese: what a player can be shown. The occurrence's own English detail goes beside it
/// (`detail_en`).
fn details(slug: &str) -> Option<[&'static str; 5]> {
    Some(match slug {
        "invalid-id" => [
            "Ein Bezeichner (Bestenliste, Spieler, Mandant oder Schlüssel) ist ungültig.",
            "Un identificador (clasificación, jugador, inquilino o clave) no es válido.",
            "Un identifiant (classement, joueur, locataire ou clé) n’est pas valide.",
            "識別子（リーダーボード、プレイヤー、テナント、またはキー）が無効です。",
            "Um identificador (placar, jogador, locatário ou chave) é inválido.",
        ],
        "invalid-score" => [
            "Die Punktzahl ist keine gültige Zahl für diese Bestenliste.",
            "La puntuación no es un número válido para esta clasificación.",
            "Le score n’est pas un nombre valide pour ce classement.",
            "スコアがこのリーダーボードで有効な数値ではありません。",
            "A pontuação não é um número válido para este placar.",
        ],
        "score-out-of-range" => [
            "Die Punktzahl liegt außerhalb der Grenzen dieser Bestenliste.",
            "La puntuación está fuera de los límites de esta clasificación.",
            "Le score est hors des limites de ce classement.",
            "スコアがこのリーダーボードの範囲外です。",
            "A pontuação está fora dos limites deste placar.",
        ],
        "invalid-timestamp" => [
            "Der Zeitstempel ist ungültig.",
            "La marca de tiempo no es válida.",
            "L’horodatage n’est pas valide.",
            "タイムスタンプが無効です。",
            "O carimbo de data/hora é inválido.",
        ],
        "invalid-config" => [
            "Die Konfiguration der Bestenliste ist ungültig.",
            "La configuración de la clasificación no es válida.",
            "La configuration du classement n’est pas valide.",
            "リーダーボードの設定が無効です。",
            "A configuração do placar é inválida.",
        ],
        "encoding-capacity" => [
            "Der Wertebereich der Bestenliste ist zu groß für ihren Sortierschlüssel.",
            "El rango de valores de la clasificación es demasiado grande para su clave de ordenación.",
            "La plage de valeurs du classement est trop grande pour sa clé de tri.",
            "リーダーボードの値の範囲がソートキーに対して大きすぎます。",
            "O intervalo de valores do placar é grande demais para a chave de ordenação.",
        ],
        "invalid-cursor" => [
            "Der Cursor ist ungültig oder gehört zu einer anderen Abfrage.",
            "El cursor no es válido o pertenece a otra consulta.",
            "Le curseur n’est pas valide ou appartient à une autre requête.",
            "カーソルが無効か、別のクエリのものです。",
            "O cursor é inválido ou pertence a outra consulta.",
        ],
        "invalid-period" => [
            "Der Zeitraum ist ungültig.",
            "El periodo no es válido.",
            "La période n’est pas valide.",
            "期間が無効です。",
            "O período é inválido.",
        ],
        "period-not-retained" => [
            "Dieser Zeitraum wird nicht mehr aufbewahrt.",
            "Este periodo ya no se conserva.",
            "Cette période n’est plus conservée.",
            "この期間は保持されていません。",
            "Este período não é mais mantido.",
        ],
        "board-not-found" => [
            "Diese Bestenliste existiert nicht.",
            "Esta clasificación no existe.",
            "Ce classement n’existe pas.",
            "このリーダーボードは存在しません。",
            "Este placar não existe.",
        ],
        "board-exists" => [
            "Eine Bestenliste mit dieser Kennung existiert bereits.",
            "Ya existe una clasificación con este identificador.",
            "Un classement avec cet identifiant existe déjà.",
            "この識別子のリーダーボードは既に存在します。",
            "Já existe um placar com este identificador.",
        ],
        "player-not-found" => [
            "Dieser Spieler hat keinen Eintrag in dieser Bestenliste.",
            "Este jugador no tiene entrada en esta clasificación.",
            "Ce joueur n’a pas d’entrée dans ce classement.",
            "このプレイヤーはこのリーダーボードに記録がありません。",
            "Este jogador não tem registro neste placar.",
        ],
        "invalid-event" => [
            "Das Ereignis ist ungültig.",
            "El evento no es válido.",
            "L’événement n’est pas valide.",
            "イベントが無効です。",
            "O evento é inválido.",
        ],
        "corrupt-data" => [
            "Gespeicherte Daten konnten nicht gelesen werden.",
            "No se pudieron leer los datos almacenados.",
            "Les données stockées n’ont pas pu être lues.",
            "保存されたデータを読み取れませんでした。",
            "Não foi possível ler os dados armazenados.",
        ],
        "unauthorized" => [
            "Senden Sie gültige Anmeldedaten (ein Bearer-Token oder einen API-Schlüssel).",
            "Envíe credenciales válidas (un token Bearer o una clave de API).",
            "Envoyez des identifiants valides (un jeton Bearer ou une clé d’API).",
            "有効な認証情報（Bearer トークンまたは API キー）を送信してください。",
            "Envie credenciais válidas (um token Bearer ou uma chave de API).",
        ],
        "forbidden" => [
            "Diese Anmeldedaten erlauben diese Aktion nicht.",
            "Estas credenciales no permiten esta acción.",
            "Ces identifiants ne permettent pas cette action.",
            "この認証情報ではこの操作は許可されていません。",
            "Estas credenciais não permitem esta ação.",
        ],
        "payload-too-large" => [
            "Die Anfrage oder ihre Metadaten sind zu groß.",
            "La solicitud o sus metadatos son demasiado grandes.",
            "La requête ou ses métadonnées sont trop volumineuses.",
            "リクエストまたはそのメタデータが大きすぎます。",
            "A requisição ou seus metadados são grandes demais.",
        ],
        "invalid-body" => [
            "Der Anfrageinhalt oder ein Abfrageparameter ist ungültig.",
            "El cuerpo de la solicitud o un parámetro de consulta no es válido.",
            "Le corps de la requête ou un paramètre de requête n’est pas valide.",
            "リクエスト本文またはクエリパラメータが無効です。",
            "O corpo da requisição ou um parâmetro de consulta é inválido.",
        ],
        "rate-limited" => [
            "Zu viele Anfragen: Versuchen Sie es nach der in Retry-After genannten Zeit erneut.",
            "Demasiadas solicitudes: vuelva a intentarlo después del tiempo indicado en Retry-After.",
            "Trop de requêtes : réessayez après le délai indiqué par Retry-After.",
            "リクエストが多すぎます。Retry-After の時間が過ぎてから再試行してください。",
            "Requisições demais: tente novamente após o tempo indicado em Retry-After.",
        ],
        "conflict" => [
            "Die Anfrage steht im Konflikt mit dem aktuellen Zustand; versuchen Sie es erneut.",
            "La solicitud entra en conflicto con el estado actual; vuelva a intentarlo.",
            "La requête est en conflit avec l’état actuel ; réessayez.",
            "リクエストが現在の状態と競合しています。再試行してください。",
            "A requisição conflita com o estado atual; tente novamente.",
        ],
        "precondition-failed" => [
            "Die Ressource hat sich geändert (If-Match stimmt nicht überein).",
            "El recurso ha cambiado (If-Match no coincide).",
            "La ressource a changé (If-Match ne correspond pas).",
            "リソースが変更されています（If-Match が一致しません）。",
            "O recurso mudou (If-Match não corresponde).",
        ],
        "quota-exceeded" => [
            "Ein Kontingent Ihres Mandanten ist ausgeschöpft.",
            "Se ha agotado una cuota de su inquilino.",
            "Un quota de votre locataire est épuisé.",
            "テナントのクォータを使い切りました。",
            "Uma cota do seu locatário foi esgotada.",
        ],
        "idempotency-in-progress" => [
            "Ein anderer Versuch dieser Anfrage läuft noch; versuchen Sie es gleich erneut.",
            "Otro intento de esta solicitud sigue en curso; vuelva a intentarlo en breve.",
            "Une autre tentative de cette requête est en cours ; réessayez sous peu.",
            "このリクエストの別の試行がまだ処理中です。少し待ってから再試行してください。",
            "Outra tentativa desta requisição ainda está em andamento; tente novamente em instantes.",
        ],
        "idempotency-mismatch" => [
            "Dieser Idempotenzschlüssel wurde bereits für eine andere Anfrage verwendet.",
            "Esta clave de idempotencia ya se usó para otra solicitud.",
            "Cette clé d’idempotence a déjà servi pour une autre requête.",
            "この冪等キーは別のリクエストで既に使用されています。",
            "Esta chave de idempotência já foi usada em outra requisição.",
        ],
        "unavailable" => [
            "Der Dienst ist vorübergehend nicht verfügbar; versuchen Sie es gleich erneut.",
            "El servicio no está disponible temporalmente; vuelva a intentarlo en breve.",
            "Le service est temporairement indisponible ; réessayez sous peu.",
            "サービスは一時的に利用できません。少し待ってから再試行してください。",
            "O serviço está temporariamente indisponível; tente novamente em instantes.",
        ],
        "invalid-webhook" => [
            "Das Webhook-Abonnement ist ungültig.",
            "La suscripción de webhook no es válida.",
            "L’abonnement webhook n’est pas valide.",
            "Webhook サブスクリプションが無効です。",
            "A assinatura de webhook é inválida.",
        ],
        "tournament-closed" => [
            "Dieses Turnier nimmt nur innerhalb seines Zeitfensters Punktzahlen an (siehe start und end).",
            "Este torneo solo acepta puntuaciones dentro de su ventana de tiempo (véanse start y end).",
            "Ce tournoi n’accepte de scores que pendant sa fenêtre (voir start et end).",
            "このトーナメントは開催期間内のスコアのみ受け付けます（start と end を参照）。",
            "Este torneio só aceita pontuações dentro da sua janela de tempo (veja start e end).",
        ],
        "tournament-full" => [
            "Dieses Turnier hat alle Spieler, die es aufnimmt (siehe max_size).",
            "Este torneo ya tiene todos los jugadores que admite (véase max_size).",
            "Ce tournoi a déjà tous les joueurs qu’il accepte (voir max_size).",
            "このトーナメントは定員に達しています（max_size を参照）。",
            "Este torneio já tem todos os jogadores que aceita (veja max_size).",
        ],
        "tournament-attempts-used" => [
            "Alle Versuche dieses Durchgangs sind aufgebraucht (siehe allowed).",
            "Se han agotado todos los intentos de esta ronda (véase allowed).",
            "Toutes les tentatives de cette manche sont épuisées (voir allowed).",
            "この回の挑戦回数をすべて使い切りました（allowed を参照）。",
            "Todas as tentativas desta rodada foram usadas (veja allowed).",
        ],
        "tournament-not-joined" => [
            "Dieses Turnier nimmt Punktzahlen nur von Spielern an, die ihm beigetreten sind.",
            "Este torneo solo acepta puntuaciones de jugadores inscritos en él.",
            "Ce tournoi n’accepte de scores que des joueurs qui s’y sont inscrits.",
            "このトーナメントは参加したプレイヤーのスコアのみ受け付けます。",
            "Este torneio só aceita pontuações de jogadores inscritos nele.",
        ],
        "integrity-rejected" => [
            "Eine Integritätsregel dieser Bestenliste hat die Punktzahl abgelehnt.",
            "Una regla de integridad de esta clasificación rechazó la puntuación.",
            "Une règle d’intégrité de ce classement a refusé le score.",
            "このリーダーボードの整合性ルールによりスコアが拒否されました。",
            "Uma regra de integridade deste placar recusou a pontuação.",
        ],
        "not-found" => [
            "Diese Ressource existiert nicht.",
            "Este recurso no existe.",
            "Cette ressource n’existe pas.",
            "このリソースは存在しません。",
            "Este recurso não existe.",
        ],
        "method-not-allowed" => [
            "Diese Methode ist hier nicht erlaubt (siehe Allow).",
            "Este método no está permitido aquí (véase Allow).",
            "Cette méthode n’est pas autorisée ici (voir Allow).",
            "このメソッドはここでは許可されていません（Allow を参照）。",
            "Este método não é permitido aqui (veja Allow).",
        ],
        "unsupported-media-type" => [
            "Senden Sie den Inhalt als application/json.",
            "Envíe el cuerpo como application/json.",
            "Envoyez le corps en application/json.",
            "本文は application/json で送信してください。",
            "Envie o corpo como application/json.",
        ],
        "internal" => [
            "Ein interner Fehler ist aufgetreten.",
            "Se produjo un error interno.",
            "Une erreur interne s’est produite.",
            "内部エラーが発生しました。",
            "Ocorreu um erro interno.",
        ],
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::LeaderboardError;

    #[test]
    fn every_problem_type_has_every_language() {
        for slug in LeaderboardError::SLUGS {
            let en = title(slug, Lang::En).unwrap_or_else(|| panic!("{slug}: no titles"));
            for lang in Lang::ALL {
                let t = title(slug, lang).unwrap();
                assert!(!t.trim().is_empty(), "{slug} in {lang:?}");
                if lang != Lang::En {
                    assert_ne!(t, en, "{slug} in {lang:?} is the English title");
                }
            }
        }
    }

    #[test]
    fn every_problem_type_has_a_detail_in_every_other_language() {
        for slug in LeaderboardError::SLUGS {
            assert_eq!(detail(slug, Lang::En), None, "{slug}");
            for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
                let d = detail(slug, lang).unwrap_or_else(|| panic!("{slug} in {lang:?}"));
                assert!(d.trim().len() > 5, "{slug} in {lang:?}");
            }
        }
    }

    #[test]
    fn the_catalogue_knows_no_other_types() {
        // Every title the errors give in English is the catalogue's English one.
        for slug in LeaderboardError::SLUGS {
            assert!(title(slug, Lang::En).is_some());
        }
        assert_eq!(title("no-such-type", Lang::De), None);
    }

    #[test]
    fn accept_language_picks_the_heaviest_supported_range() {
        let cases = [
            (None, Lang::En),
            (Some(""), Lang::En),
            (Some("de"), Lang::De),
            (Some("de-CH"), Lang::De),
            (Some("DE"), Lang::De),
            (Some("xx, fr;q=0.5"), Lang::Fr),
            (Some("ja;q=0.2, es;q=0.8"), Lang::Es),
            (Some("pt-PT"), Lang::PtBr),
            (Some("pt-BR,pt;q=0.9,en;q=0.8"), Lang::PtBr),
            (Some("de;q=0, fr"), Lang::Fr),
            (Some("de;q=0"), Lang::En),
            (Some("*"), Lang::En),
            (Some("zh-CN, *;q=0.1"), Lang::En),
            (Some("zh-CN"), Lang::En),
            (Some("fr;q=abc, de;q=0.3"), Lang::De),
            (Some("es;q=0.7, fr;q=0.7"), Lang::Es),
            (Some("fr;q=1.5"), Lang::En),
        ];
        for (header, want) in cases {
            assert_eq!(negotiate(header), want, "{header:?}");
        }
    }

    #[test]
    fn tags_are_what_content_language_says() {
        let tags: Vec<&str> = Lang::ALL.iter().map(|l| l.tag()).collect();
        assert_eq!(tags, ["en", "de", "es", "fr", "ja", "pt-BR"]);
    }
}
