//! The migration files as they landed, pinned by checksum: a landed migration never changes.

/// Every migration file as it landed, by backend and version: sqlx refuses to migrate a
/// database whose applied migration's checksum (SHA-384 of the file) differs, so a landed
/// file must never change. A new migration adds its line here when it lands.
const LANDED: [(&str, i64, &str); 44] = [
    ("sqlite", 1, "0eceaf674f7951ab0c78aa9d16d705bf3cd4becfe4c8653b0c4fe98756b74d5141169a7208d00e085a2666e0a7470ced"),
    ("sqlite", 2, "516b8c2dd418b1d9bb7b43d47790b44e3354540fad12d37c18bcfb08614b60666a00c82d2037a383f98643f375a73418"),
    ("sqlite", 3, "2b6a8144cf9e4476eb872928529e594da268f0cfd947c5796e745c1f73d17a53cbd49d7a573b65378d701ed9abd33a05"),
    ("sqlite", 4, "8bc87a474669d8401453a8c40927f72d342ab2ca274bf6f969d8aeb4b50589f7335357b683df08cc76d056939492a379"),
    ("sqlite", 5, "21c01c0dd918900ffcbc6dbee18a56e25384074622c44c24ad6f52ce1e5810c7f018a3c987b7b92fde4cbdd3d5d82d41"),
    ("postgres", 1, "527055c3adee9ead56e35e4ad549113d0e82bb8ac69cdb0fa5b110b598a37620003c137f40f47eea2001f05aebb31aa5"),
    ("postgres", 2, "d7957fb658546f79bd31ffb69dbf23f9c8943a9c6c1549b5c2d315e7b3ae260aa64c7da2b597d12c692a7de357d7f1a7"),
    ("postgres", 3, "02642823b2521c8ca26c9cc2fa7ec1ff4c73a8a2290978d14f47190fffe24ee7c415d57c10b44d3f8251bebe15383d7f"),
    ("postgres", 4, "9b57c8e0a6bb27db3fa3d53d0ec80a2ab405b53a1df7daf1fd5751a814ec7b1d67f9272c99a03f63a4eb7dbcb4f54d54"),
    ("postgres", 5, "ee46847e2e01fb27c3fc52475e7b064f5a36c6c2618c9092d341b709e1553401abbb682d0c57e7a17c336e7dfec65eee"),
    ("sqlite", 6, "bd20a62f7086f58fabdedf4fc7d3cf1b9af37447c32f5299df50a8ce04a952628760e26451d02444b547b37c74fb3ed5"),
    ("sqlite", 7, "7049e9e6c1b12d98befbbed21b0ecd360bf2b05d78db006ba9bc0be45235cf028adfa3ccbad97a2713a69c0bc3358777"),
    ("postgres", 6, "1c08faecb7bc800cdea26e4d57df37ada38ce87cac6089e0373b62ff6a24300b84b6ec278ffff7f3e7373955805bec55"),
    ("postgres", 7, "5605e5e0128e530969f6500a1e1f980ec4f05ee1272f795988220cfb9d65ac049d21ecceb329a680d13af48c18ed27d5"),
    ("sqlite", 8, "5bc6ddc082bd7ee202f6ca5102d3b0e2818b017455cdf25bd1d6b6e8248dcf83bf9622101640deaef431516053e884d5"),
    ("postgres", 8, "1efdb388ab55a5ecaeef92ec9948ce17d39c0a84ff1f94c3a1b8fa86d2e9a1861f534bf13f02a78be1fa985723df5b32"),
    ("sqlite", 9, "81913f41c129ff188aca33e0d191530b7154b02bdf915a6b3e49a9ab10d953e93b42b325bfd79381c5761129c6d8e0c9"),
    ("postgres", 9, "c55a7c96d5060f7cb3967fbfbff5e6b8b1dbca49c3e22e0a1eeca6055d253b2e9fbfd9a5574ab7921f6adc622825f641"),
    ("sqlite", 10, "23e2c7ac26a0451737112f5319939b57ad3d9d3672d2ae54271b3d7d24f42b0f818cfa904bca0d43872975f97dd2bf20"),
    (
        "postgres",
        10,
        "2fb1fad88d0adb9f8fb2918ac1cbebbbc38c850e96c2d9119a3c78f91df857df9fee63a97a5d5b432a9b7c9f2dbbe87c",
    ),
    ("sqlite", 11, "27b45060c920695009e5e4bd2d4c8281c6e8a3f3bebcbd3a57ad88df4152e1c9461688e873da9bc3f202a43ff7227db1"),
    (
        "postgres",
        11,
        "420ba41555e7debba143f1f05b4eb124c277af1c7b5d2d572bfeed62353396fe5654de834f2b5af7c1090e0c1ea4d6d4",
    ),
    ("sqlite", 12, "c1d85849ac5bf072750f959e64f334d8872cd8b2f144868a5c6a242fd33f7b7a33e11cba14c22798f4df648a27262779"),
    (
        "postgres",
        12,
        "cf9b6302e5ac8763ca564487615ce40a63558c3c961fb8fbd7956210a18a9fa00d06b3e68bdfbf7b408a4b5141a2e746",
    ),
    ("sqlite", 13, "6dd15d8a971aa225dd9cc5320038a8887dcf555d28eb917b80a0044e116670f81d2d407384bf72ebcf895c1382eb8de8"),
    (
        "postgres",
        13,
        "4251b4fc16b23e5128d791a4ebdec2d1958a0b8566d8af176517b78541b4bfc576dbbbc1162c897a187f33b4882a81c1",
    ),
    ("sqlite", 14, "62dce536ab1b9c683da6bef38e9145860fdee23080491b770cd7d952286c5a9e8beb8bb1031d5f45a711da0d3e9546d1"),
    (
        "postgres",
        14,
        "056868dbaf308771c5e465af5e7b33e1e302e4e0392342b1c53e7ffd0c4bf11c9ffec91b6782c1b0c68ea3c2710fc5ea",
    ),
    ("sqlite", 15, "1286bbe37df1094dbe1ca65f4ed5fd939980e7c20d3ec74cce644801707250e7dfd99821d0e5be7b9505f7f7dda7dd1f"),
    (
        "postgres",
        15,
        "574aa62a20a08e10a7cb9f59b58fecc8a923d693335a425b1966d3d50950391dcf4668597274ca4e613de4d654b460df",
    ),
    ("sqlite", 16, "1df99ac4fca4489b28f8ae0593f3388c46e38ea92dfa5c071224cea7abce24969b0659213853fc916df61fa4e9c009e8"),
    (
        "postgres",
        16,
        "afec737e9c2b3983910d2b4581504bf7d4a1c3f843f13211344f5acea18f7b60e859aa8d00160ab48a872290ebf113c2",
    ),
    ("sqlite", 17, "4f1643708293a12f87abf05716c87742ed2ea932ecc77f3c0c62d49aac20b2256519c90d2f655ff1970583a663c48006"),
    (
        "postgres",
        17,
        "031a98f77278866f157ed7225b7319241300d6bdb5da5eb9e1d74ba88eb426a1f6e334cd46c0e2717b123a0d5670c121",
    ),
    ("sqlite", 18, "d15a260e7f17ba3abb53f959d00fdda81f64214eb2f380b9ca410388ec64cf2d7f8c8e35e974b85df3661efa9d8a1b2f"),
    (
        "postgres",
        18,
        "cd360ccbf76c049bfaf9e652dd40899bba9da86ff9888b74b128532eb09fee0a293181781afb64ddfb0de547f8303c50",
    ),
    ("sqlite", 19, "2dbf80f6f65f9cc36e008a2396602e046a1f0a198d84e7afac8b29a1405986d4a4af94ddae7334c733f7efb8fe1d5251"),
    (
        "postgres",
        19,
        "514dbe402cb88dcb57db9023088acf398f9abfd65b20a858ff9b6e1ec680cd233362566f7f7a24687fc9532c6a44ccf3",
    ),
    ("sqlite", 20, "19b4af68b8d6f63aecfbbccb7a4603700b8b82e150985dfb734db0e786eedaf35aad61994cf64e3625dc7d5f5e531a0a"),
    (
        "postgres",
        20,
        "2c732d3055202173df96b48b770a4c8cf7c0d1e3fa64ad2e7f196ea5dd3faf39c14d4e51b15432cb4244de17f6592daf",
    ),
    ("sqlite", 21, "b54a9991f30ef2a5c9c21c9b22bebbc5effab764397287a0d984d600209e60ac967fcc2f26d9122cbdb06e78876e7018"),
    (
        "postgres",
        21,
        "08761e1c807f1dbac4b9898d1ba5d56f4f382d7ababc19b4164d75a0e1e9486f16ab2a2f3442c9be982544efa55e0b29",
    ),
    ("sqlite", 22, "dc264d9693053d03c73dd1045315133d65d608eacf3e987643e8259bacab10c4210124eaeadb67d9ac8af9724ea11c29"),
    (
        "postgres",
        22,
        "63272bbf6cea61424a9c94977f877e8073b152b5a611ab907ac35e74047d17b92e0b9d9994df04d201da1111084565e1",
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn landed_migrations_never_change() {
    let mut seen = Vec::new();
    for (backend, migrator) in [("sqlite", &super::sqlite::MIGRATOR), ("postgres", &super::postgres::MIGRATOR)] {
        for migration in migrator.iter() {
            seen.push((backend, migration.version, hex(&migration.checksum)));
        }
    }
    for (backend, version, checksum) in &seen {
        let pinned = LANDED.iter().find(|(b, v, _)| b == backend && v == version);
        let Some((_, _, pinned)) = pinned else {
            panic!("{backend} migration {version} is not pinned in LANDED: add it when it lands");
        };
        assert_eq!(checksum, pinned, "{backend} migration {version} was edited after it landed; add a new one");
    }
    assert_eq!(seen.len(), LANDED.len(), "a landed migration file is missing");
}
